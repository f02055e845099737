"""The STREAM payload: 64 KiB chunks, each sealed with a counter nonce, the last one flagged.

Whole streams (seal_payload, open_payload, iter_payload) move in batches of 4 chunks: one read
of about 256 KiB per batch, each chunk sealed or opened in place into the writer's reused buffer,
and one batch read ahead so the last chunk is known without guessing. The writes are of one batch
on a busy machine, of 4 (about 1 MiB) when a core is idle, on the write-behind thread or here,
whichever is faster (crypto/overlap.py). The format is the same.

Warning: holds the payload key. Private to crypto/.
"""

import os
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from crypto._primitives import TAG_SIZE, Aead, hkdf_sha256
from crypto.errors import HeaderError, PayloadError
from crypto.overlap import writer_for

CHUNK_SIZE = 64 * 1024
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16
# Chunks per read (and per write, inline): fewer syscalls, buffers that stay in cache.
BATCH_CHUNKS = 4
_MAX_COUNTER = 1 << 88
_T = TypeVar("_T")


def chunk_nonce(counter: int, last: bool) -> bytes:
    if counter >= _MAX_COUNTER:
        raise PayloadError("payload is too long")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf_sha256(file_key, nonce, b"payload")


def read_full(src: BinaryIO, size: int) -> bytes:
    """Read exactly size bytes unless the stream ends first."""
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    remaining = size - len(data)
    while remaining:
        more = src.read(remaining)
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


def fill(src: BinaryIO, buffer: bytearray) -> int:
    """Read into buffer until it is full or the stream ends; return how many bytes came."""
    view = memoryview(buffer)
    readinto: Callable[[memoryview], int | None] | None = getattr(src, "readinto", None)
    filled = 0
    while filled < len(buffer):
        if readinto is not None:
            got = readinto(view[filled:]) or 0
        else:
            data = src.read(len(buffer) - filled)
            got = len(data)
            view[filled : filled + got] = data
        if not got:
            break
        filled += got
    return filled


def read_batches(src: BinaryIO, unit: int) -> Iterator[tuple[memoryview, bool]]:
    """Yield src in views of BATCH_CHUNKS units (the last may be shorter or empty), each with
    whether it is the last; one is read ahead. A view is valid only until the next is asked for.

    The first view is of one unit, so a small envelope never pays for the batch buffers.
    """
    first = bytearray(unit)
    filled = fill(src, first)
    if filled < unit:
        yield memoryview(first)[:filled], True
        return
    buffers = (first, bytearray(unit * BATCH_CHUNKS), bytearray(unit * BATCH_CHUNKS))
    current, ahead = 0, 1
    while True:
        following = fill(src, buffers[ahead]) if filled == len(buffers[current]) else 0
        yield memoryview(buffers[current])[:filled], not following
        if not following:
            return
        current, ahead = ahead, 3 - ahead  # the big buffers take turns; the first is done with
        filled = following


def start_payload(dst: BinaryIO, file_key: bytes) -> Aead:
    """Write a fresh payload nonce; the AEAD under the payload key it gives."""
    nonce = os.urandom(NONCE_SIZE)
    dst.write(nonce)
    return Aead(payload_key(file_key, nonce))


def seal_payload(src: BinaryIO, dst: BinaryIO, file_key: bytes) -> None:
    """Write the nonce and every chunk of src, sealed, to dst: each batch sealed into the
    writer's buffer, handed over when the next batch would not fit."""
    aead = start_payload(dst, file_key)
    counter = 0
    batches = read_batches(src, CHUNK_SIZE)
    plaintext, last_batch = next(batches)
    room = SEALED_CHUNK_SIZE * (1 if last_batch else BATCH_CHUNKS)  # the first batch is one chunk
    with writer_for(dst, room, overlap=not last_batch) as out:
        buffer, end = out.buffer(), 0
        sealed = memoryview(buffer)
        while True:
            chunks = max(1, -(-len(plaintext) // CHUNK_SIZE))
            for index in range(chunks):
                chunk = plaintext[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE]
                last = last_batch and index == chunks - 1
                aead.seal_into(chunk_nonce(counter, last), chunk, sealed[end : end + len(chunk) + TAG_SIZE])
                end += len(chunk) + TAG_SIZE
                counter += 1
            if last_batch:
                out.write(buffer, end)
                return
            if end + room > len(buffer):
                out.write(buffer, end)
                buffer, end = out.buffer(), 0
                sealed = memoryview(buffer)
            plaintext, last_batch = next(batches)


class PayloadWriter:
    """Push plaintext in; sealed chunks go out. close() writes the final chunk, abort() never will."""

    def __init__(self, dst: BinaryIO, file_key: bytes) -> None:
        self._aead = start_payload(dst, file_key)
        self._dst = dst
        # Plaintext not sealed yet, at most one chunk: a view of the caller's own bytes object when
        # it can be (no copy), a bytearray while small writes fill a chunk.
        self._pending: bytes | bytearray | memoryview = b""
        self._counter = 0
        self._finished = False

    def write(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("write to a sealer that is closed or aborted")
        if not isinstance(data, bytes):
            data = bytes(memoryview(data))  # a mutable buffer may be reused by the caller
        if not data:
            return
        start = 0
        if self._pending:
            if len(self._pending) < CHUNK_SIZE:
                if not isinstance(self._pending, bytearray):
                    self._pending = bytearray(self._pending)
                start = CHUNK_SIZE - len(self._pending)
                self._pending += memoryview(data)[:start]
                if start >= len(data):
                    return
            # More plaintext follows, so the pending chunk is not the last one.
            self._emit(self._pending, last=False)
            self._pending = b""
        # Keep at least one byte back: only close() knows which chunk is the last. Chunks are
        # views of data (immutable bytes), so none is copied before the AEAD reads it.
        view = memoryview(data)
        end = len(data)
        while end - start > CHUNK_SIZE:
            self._emit(view[start : start + CHUNK_SIZE], last=False)
            start += CHUNK_SIZE
        self._pending = view[start:] if start else data

    def close(self) -> None:
        if self._finished:
            raise ValueError("sealer is already closed or aborted")
        self._emit(self._pending, last=True)
        self._pending = b""
        self._finished = True

    def abort(self) -> None:
        """Drop buffered plaintext; the output can never become a valid envelope."""
        self._finished = True
        self._pending = b""

    def _emit(self, chunk: bytes | bytearray | memoryview, last: bool) -> None:
        self._dst.write(self._aead.seal(chunk_nonce(self._counter, last), chunk))
        self._counter += 1


def read_payload_nonce(src: BinaryIO) -> bytes:
    nonce = read_full(src, NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise HeaderError("envelope ends before its payload nonce")
    return nonce


def _verified(src: BinaryIO, open_chunk: Callable[[bytes, memoryview], _T | None]) -> Iterator[_T]:
    """Yield open_chunk's result for each sealed chunk of src, in order, only once it verified;
    raise PayloadError on any fault, after the last good chunk.

    The last chunk is the one the stream ends with (read ahead), so a truncation or trailing
    bytes is named as such: a chunk that verifies only under the other last-flag is told apart.
    """
    counter = 0
    for batch, last_batch in read_batches(src, SEALED_CHUNK_SIZE):
        if not batch:
            raise PayloadError("payload ends without its final chunk: the envelope is truncated")
        chunks = -(-len(batch) // SEALED_CHUNK_SIZE)
        for index in range(chunks):
            sealed = batch[index * SEALED_CHUNK_SIZE : (index + 1) * SEALED_CHUNK_SIZE]
            last = last_batch and index == chunks - 1
            if last and counter and len(sealed) == TAG_SIZE:
                raise PayloadError("final chunk is empty: the envelope is damaged")
            opened = open_chunk(chunk_nonce(counter, last), sealed) if len(sealed) >= TAG_SIZE else None
            if opened is None and len(sealed) == SEALED_CHUNK_SIZE:
                opened = open_chunk(chunk_nonce(counter, not last), sealed)
                if opened is not None:
                    yield opened
                    if last:
                        raise PayloadError("payload ends without its final chunk: the envelope is truncated")
                    raise PayloadError("data after the final chunk: the envelope was tampered with")
            if opened is None:
                raise PayloadError(
                    "payload does not verify: the envelope is truncated, corrupted or tampered with"
                )
            yield opened
            counter += 1


def iter_payload(src: BinaryIO, file_key: bytes, nonce: bytes) -> Iterator[bytes]:
    """Yield each chunk's plaintext (its own bytes) only after its tag verified; raise
    PayloadError on any fault. Bytes after the final chunk are refused."""
    yield from _verified(src, Aead(payload_key(file_key, nonce)).open)


def open_payload(src: BinaryIO, dst: BinaryIO, file_key: bytes, nonce: bytes) -> int:
    """Write the plaintext of src's payload to dst, verified batches a buffer at a time; return
    its size.

    On a fault dst holds the plaintext of every chunk before the bad one, then PayloadError.
    """
    aead = Aead(payload_key(file_key, nonce))
    size = 0
    left = _bytes_left(src)
    chunks = BATCH_CHUNKS if left is None else min(BATCH_CHUNKS, max(1, -(-left // SEALED_CHUNK_SIZE)))
    batch_size = chunks * CHUNK_SIZE  # whole chunks: after a flush there is room for the next one
    with writer_for(dst, batch_size, overlap=left is None or left > SEALED_CHUNK_SIZE) as out:
        buffer, filled = out.buffer(), 0

        def open_into(nonce: bytes, sealed: memoryview) -> int | None:
            length = len(sealed) - TAG_SIZE
            ok = aead.open_into(nonce, sealed, memoryview(buffer)[filled : filled + length])
            return length if ok else None

        try:
            for length in _verified(src, open_into):
                filled += length
                size += length
                if filled + CHUNK_SIZE > len(buffer):
                    out.write(buffer, filled)
                    buffer, filled = out.buffer(), 0
        except PayloadError:
            if filled:
                out.write(buffer, filled)  # the verified prefix only: a failed chunk is not counted
            raise
        if filled:
            out.write(buffer, filled)
    return size


def _bytes_left(src: BinaryIO) -> int | None:
    """How many bytes src has left, or None when it cannot tell (not seekable)."""
    try:
        here = src.tell()
        end = src.seek(0, os.SEEK_END)
        src.seek(here)
    except (OSError, AttributeError, ValueError):
        return None
    return end - here
