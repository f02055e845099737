"""The STREAM payload: 64 KiB chunks, each sealed with a counter nonce, the last one flagged.

Warning: holds the payload key. Private to crypto/.
"""

import os
from collections.abc import Iterator
from typing import BinaryIO

from crypto._primitives import TAG_SIZE, Aead, hkdf_sha256
from crypto.errors import HeaderError, PayloadError

CHUNK_SIZE = 64 * 1024
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16
_MAX_COUNTER = 1 << 88


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


class PayloadWriter:
    """Push plaintext in; sealed chunks go out. close() writes the final chunk, abort() never will."""

    def __init__(self, dst: BinaryIO, file_key: bytes) -> None:
        nonce = os.urandom(NONCE_SIZE)
        dst.write(nonce)
        self._dst = dst
        self._aead = Aead(payload_key(file_key, nonce))
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


def iter_payload(src: BinaryIO, file_key: bytes, nonce: bytes) -> Iterator[bytes]:
    """Yield each chunk's plaintext only after its tag verified; raise PayloadError on any fault.

    A full-size chunk is tried as a middle chunk, then as the final one, so a payload that is an
    exact multiple of 64 KiB needs no read-ahead. Bytes after the final chunk are refused.
    """
    aead = Aead(payload_key(file_key, nonce))
    counter = 0
    while True:
        sealed = read_full(src, SEALED_CHUNK_SIZE)
        if not sealed:
            raise PayloadError("payload ends without its final chunk: the envelope is truncated")
        last = len(sealed) < SEALED_CHUNK_SIZE
        if last and counter and len(sealed) == TAG_SIZE:
            raise PayloadError("final chunk is empty: the envelope is damaged")
        plaintext = aead.open(chunk_nonce(counter, last), sealed)
        if plaintext is None and not last:
            last = True
            plaintext = aead.open(chunk_nonce(counter, last), sealed)
        if plaintext is None:
            raise PayloadError(
                "payload does not verify: the envelope is truncated, corrupted or tampered with"
            )
        yield plaintext
        if last:
            if src.read(1):
                raise PayloadError("data after the final chunk: the envelope was tampered with")
            return
        counter += 1
