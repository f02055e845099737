"""Whole streams move in batches of 4 chunks (crypto/_stream.py), written inline or on a second
thread (crypto/overlap.py): batch boundaries, faults inside a batch, and no thread left behind."""

import functools
import io
import random
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import crypto
from crypto import overlap
from crypto._stream import BATCH_CHUNKS
from crypto.keyfile import identity_file_text
from crypto.overlap import HANDOFF_BATCHES

CHUNK = 64 * 1024
SEALED = CHUNK + 16
BATCH = BATCH_CHUNKS * CHUNK  # after a first batch of one chunk
HANDOFF = HANDOFF_BATCHES * BATCH  # plaintext per hand-over to the write-behind thread
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, BATCH - 1, BATCH, BATCH + 1, 2 * BATCH, 3 * BATCH + 5]
# Where a write-behind buffer fills: sealing, after the first chunk and 3 batches; opening, at 4.
SIZES += [HANDOFF - 3 * CHUNK, HANDOFF - 3 * CHUNK + 1, HANDOFF, HANDOFF + 1, 2 * HANDOFF + 5]
TRUNCATED = "payload ends without its final chunk: the envelope is truncated"
TAMPERED = "payload does not verify: the envelope is truncated, corrupted or tampered with"
TRAILING = "data after the final chunk: the envelope was tampered with"
WRITER = "tamga-write-behind"


@functools.cache
def _plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@functools.cache
def _identity() -> crypto.X25519Identity:
    return crypto.X25519Identity.generate()


class Recording(io.BytesIO):
    """A destination that notes which threads wrote to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[str] = set()

        self.sizes: list[int] = []

    def write(self, data: object) -> int:
        self.writers.add(threading.current_thread().name)
        self.sizes.append(memoryview(data).nbytes)  # type: ignore[arg-type]
        return super().write(data)  # type: ignore[arg-type]


class ShortReads(io.BytesIO):
    """A source that returns at most 1000 bytes a read or readinto."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(1000 if size is None or size < 0 else min(size, 1000))

    def readinto(self, buffer: object) -> int:
        return super().readinto(memoryview(buffer)[:1000])  # type: ignore[arg-type]


class Trickle:
    """A source without readinto that returns at most 1000 bytes a read (a pipe, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._src.read(min(size, 1000) if size >= 0 else 1000)


@pytest.fixture(params=["inline", "write-behind"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways a stream may be written (overlap.second_core_idle() picks by the load)."""
    monkeypatch.setattr(overlap, "second_core_idle", lambda: request.param == "write-behind")
    yield request.param
    assert not [t for t in threading.enumerate() if t.name == WRITER]


def _seal(plaintext: bytes) -> bytes:
    out = io.BytesIO()
    crypto.seal_stream(io.BytesIO(plaintext), out, [_identity().recipient])
    return out.getvalue()


def _header_size(envelope: bytes) -> int:
    return crypto.inspect(io.BytesIO(envelope)).header_size + 16  # and the payload nonce


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


@pytest.mark.parametrize("size", SIZES)
def test_seal_and_open_stream_round_trip_at_batch_boundaries(mode: str, size: int) -> None:
    plaintext = _plaintext(size)
    sealed = Recording()
    crypto.seal_stream(io.BytesIO(plaintext), sealed, [_identity().recipient])
    envelope = sealed.getvalue()
    opened = Recording()

    assert crypto.open_stream(io.BytesIO(envelope), opened, [_identity()]) == size
    assert opened.getvalue() == plaintext
    assert crypto.open_bytes(envelope, [_identity()]) == plaintext
    assert len(envelope) - _header_size(envelope) == size + 16 * max(1, -(-size // CHUNK))
    threaded = mode == "write-behind" and size > CHUNK
    # The header and nonce are written by the caller; the batches by the thread, which starts
    # only when there is more than one chunk.
    assert (WRITER in sealed.writers) is threaded
    assert (WRITER in opened.writers) is threaded


def test_the_write_behind_thread_takes_several_batches_at_a_time_and_writes_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(overlap, "second_core_idle", lambda: True)
    handed: list[int] = []
    hand_over = overlap.WriteBehind.write

    def counted(self: overlap.WriteBehind, buffer: bytearray, length: int) -> None:
        handed.append(length)
        hand_over(self, buffer, length)

    monkeypatch.setattr(overlap.WriteBehind, "write", counted)
    plaintext = _plaintext(3 * HANDOFF)
    sealed = Recording()
    crypto.seal_stream(io.BytesIO(plaintext), sealed, [_identity().recipient])
    sealing, handed[:] = list(handed), []
    opened = Recording()
    crypto.open_stream(io.BytesIO(sealed.getvalue()), opened, [_identity()])

    # Each hand-over wakes a thread on another core: one per HANDOFF_BATCHES batches, not per batch.
    assert sealing == [13 * SEALED, 16 * SEALED, 16 * SEALED, 3 * SEALED]  # the first batch is 1 chunk
    assert handed == [16 * CHUNK, 16 * CHUNK, 16 * CHUNK]
    # ...and each is written in pieces: a write(2) of 1 MiB costs more than two of 512 KiB.
    assert max(sealed.sizes + opened.sizes) == overlap.WRITE_PIECE
    assert opened.getvalue() == plaintext


@pytest.mark.parametrize("size", [0, CHUNK, BATCH + 1, 2 * BATCH])
def test_what_the_sealer_pushes_and_seal_stream_writes_open_alike(size: int) -> None:
    plaintext = _plaintext(size)
    pushed = io.BytesIO()
    sealer = crypto.Sealer(pushed, [_identity().recipient])
    for start in range(0, size, 5000):
        sealer.write(plaintext[start : start + 5000])
    sealer.close()
    streamed = _seal(plaintext)

    assert len(pushed.getvalue()) == len(streamed)
    assert crypto.open_bytes(pushed.getvalue(), [_identity()]) == plaintext


@pytest.mark.parametrize("size", [0, CHUNK - 1, BATCH, BATCH + 1])
def test_sources_of_short_reads_seal_and_open_with_the_same_framing(size: int) -> None:
    plaintext = _plaintext(size)
    out = io.BytesIO()
    crypto.seal_stream(Trickle(plaintext), out, [_identity().recipient])  # type: ignore[arg-type]
    opened = io.BytesIO()

    assert len(out.getvalue()) == len(_seal(plaintext))
    assert crypto.open_stream(ShortReads(out.getvalue()), opened, [_identity()]) == size
    assert opened.getvalue() == plaintext


@pytest.mark.parametrize("chunk", [0, 1, BATCH_CHUNKS, BATCH_CHUNKS + 1, 2 * BATCH_CHUNKS])
def test_a_flipped_bit_in_any_batch_fails_after_the_chunks_before_it(mode: str, chunk: int) -> None:
    plaintext = _plaintext(2 * BATCH + 1)
    envelope = bytearray(_seal(plaintext))
    envelope[_header_size(bytes(envelope)) + chunk * SEALED + 5] ^= 1
    opened = io.BytesIO()

    with pytest.raises(crypto.PayloadError, match=_exactly(TAMPERED)):
        crypto.open_stream(io.BytesIO(bytes(envelope)), opened, [_identity()])
    assert opened.getvalue() == plaintext[: chunk * CHUNK]  # the verified prefix, nothing unverified


@pytest.mark.parametrize("chunks", [1, BATCH_CHUNKS, BATCH_CHUNKS + 1, BATCH_CHUNKS + 2])
def test_a_payload_cut_at_a_chunk_or_batch_boundary_is_truncated(mode: str, chunks: int) -> None:
    envelope = _seal(_plaintext(2 * BATCH + 1))
    cut = envelope[: _header_size(envelope) + chunks * SEALED]
    opened = io.BytesIO()

    with pytest.raises(crypto.PayloadError, match=_exactly(TRUNCATED)):
        crypto.open_stream(io.BytesIO(cut), opened, [_identity()])
    with pytest.raises(crypto.PayloadError, match=_exactly(TRUNCATED)):
        crypto.open_bytes(cut, [_identity()])
    assert opened.getvalue() == _plaintext(2 * BATCH + 1)[: chunks * CHUNK]


@pytest.mark.parametrize("size", [CHUNK, BATCH, 2 * BATCH])
def test_bytes_after_a_full_final_chunk_are_refused(mode: str, size: int) -> None:
    envelope = _seal(_plaintext(size)) + b"x" * 100

    with pytest.raises(crypto.PayloadError, match=_exactly(TRAILING)):
        crypto.open_stream(io.BytesIO(envelope), io.BytesIO(), [_identity()])
    with pytest.raises(crypto.PayloadError, match=_exactly(TRAILING)):
        crypto.open_bytes(envelope, [_identity()])


@pytest.mark.parametrize("cut", [1, 15, 16, 17])
def test_a_partial_last_chunk_does_not_verify(mode: str, cut: int) -> None:
    envelope = _seal(_plaintext(BATCH + 100))

    with pytest.raises(crypto.PayloadError, match=_exactly(TAMPERED)):
        crypto.open_stream(io.BytesIO(envelope[:-cut]), io.BytesIO(), [_identity()])


class FailingWrites(io.BytesIO):
    """A disk that fills up after `room` bytes."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: object) -> int:
        size = memoryview(data).nbytes  # type: ignore[arg-type]
        if self.tell() + size > self.room:
            raise OSError(28, "No space left on device")
        return super().write(data)  # type: ignore[arg-type]


class FailingReads(io.BytesIO):
    """A source whose device fails after `good` bytes."""

    def __init__(self, data: bytes, good: int) -> None:
        super().__init__(data)
        self.good = good

    def readinto(self, buffer: object) -> int:
        if self.tell() >= self.good:
            raise OSError(5, "Input/output error")
        return super().readinto(buffer)  # type: ignore[arg-type]


@pytest.mark.parametrize("room", [BATCH, 3 * BATCH])
def test_a_failing_write_stops_seal_and_open_with_its_error(mode: str, room: int) -> None:
    plaintext = _plaintext(5 * BATCH)
    with pytest.raises(OSError, match="No space left on device"):
        crypto.seal_stream(io.BytesIO(plaintext), FailingWrites(room), [_identity().recipient])
    with pytest.raises(OSError, match="No space left on device"):
        crypto.open_stream(io.BytesIO(_seal(plaintext)), FailingWrites(room), [_identity()])


def test_a_failing_read_stops_the_seal_with_its_error(mode: str) -> None:
    with pytest.raises(OSError, match="Input/output error"):
        crypto.seal_stream(
            FailingReads(_plaintext(5 * BATCH), 2 * BATCH), io.BytesIO(), [_identity().recipient]
        )


def test_a_failing_read_stops_the_open_with_its_error(mode: str) -> None:
    envelope = _seal(_plaintext(5 * BATCH))
    with pytest.raises(OSError, match="Input/output error"):
        crypto.open_stream(FailingReads(envelope, 2 * BATCH), io.BytesIO(), [_identity()])


def test_a_write_behind_thread_stops_after_a_failure_on_the_filling_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(overlap, "second_core_idle", lambda: True)
    dst = Recording()
    with pytest.raises(RuntimeError, match=r"^stop$"), overlap.writer_for(dst, 10, overlap=True) as out:
        assert isinstance(out, overlap.ChoosingWriter)
        buffer = out.buffer()
        buffer[:] = b"0123456789"
        out.write(buffer, 4)
        raise RuntimeError("stop")
    assert dst.getvalue() == b"0123"  # what was handed over before the failure is written
    assert dst.writers == {WRITER}
    assert not [t for t in threading.enumerate() if t.name == WRITER]


def test_write_behind_raises_a_write_failure_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overlap, "second_core_idle", lambda: True)
    with (
        pytest.raises(OSError, match="No space left on device"),
        overlap.writer_for(FailingWrites(15), 10, overlap=True) as out,
    ):
        for _ in range(50):  # the pool holds 3 buffers: the failure surfaces while we go on
            buffer = out.buffer()
            out.write(buffer, 10)
    assert not [t for t in threading.enumerate() if t.name == WRITER]


@pytest.mark.parametrize("size", [BATCH - 1, BATCH + 1, 3 * BATCH + 5])
def test_age_cli_opens_a_batched_envelope_and_we_open_its(mode: str, tmp_path: Path, size: int) -> None:
    plaintext = _plaintext(size)
    key = tmp_path / "key.txt"
    key.write_text(identity_file_text(_identity()))
    ours = subprocess.run(
        ["age", "-d", "-i", str(key)], input=_seal(plaintext), capture_output=True, check=True, timeout=60
    )
    theirs = subprocess.run(
        ["age", "-r", str(_identity().recipient)],
        input=plaintext,
        capture_output=True,
        check=True,
        timeout=60,
    )
    opened = io.BytesIO()

    assert ours.stdout == plaintext
    assert crypto.open_stream(io.BytesIO(theirs.stdout), opened, [_identity()]) == size
    assert opened.getvalue() == plaintext
