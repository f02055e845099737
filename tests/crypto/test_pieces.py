"""crypto/overlap.py's Pieces: every byte written once, in order (also through short writes), in
large pieces while they are cheap and in small ones for a while after a large one was slow."""

import os

import pytest

from crypto import overlap
from crypto.overlap import JUDGED_PIECE, SLOW_SECONDS_PER_BYTE, SMALL_FOR, SMALL_PIECE, WRITE_PIECE, Pieces

BUFFER = 4 * 262208  # a WriteBehind's buffer: four sealed batches, not a multiple of any piece


class Clocked:
    """A destination whose every write costs the writer `cost(size)` seconds of thread time."""

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self.now = 0.0
        self.sizes: list[int] = []
        self.data = bytearray()
        self.slow = False
        patch.setattr(overlap.time, "thread_time", lambda: self.now)

    def write(self, data: memoryview) -> int:
        self.sizes.append(len(data))
        self.data += data
        per_byte = 3 * SLOW_SECONDS_PER_BYTE if self.slow else SLOW_SECONDS_PER_BYTE / 3
        self.now += len(data) * per_byte
        return len(data)


def write_buffers(pieces: Pieces, count: int) -> bytearray:
    written = bytearray()
    for number in range(count):
        buffer = bytearray(bytes([number % 251]) * BUFFER)
        pieces.write(buffer, len(buffer))
        written += buffer
    return written


def test_cheap_writes_stay_large(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Clocked(monkeypatch)
    written = write_buffers(Pieces(dst.write), 8)
    assert bytes(dst.data) == written
    assert max(dst.sizes) == WRITE_PIECE
    assert all(size == WRITE_PIECE or size == BUFFER % WRITE_PIECE for size in dst.sizes)


def test_a_slow_large_piece_turns_to_small_ones_and_a_cheap_one_back(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Clocked(monkeypatch)
    pieces = Pieces(dst.write)
    dst.slow = True
    written = write_buffers(pieces, 2)
    assert dst.sizes[0] == WRITE_PIECE  # judged slow
    assert set(dst.sizes[1:]) <= {SMALL_PIECE, BUFFER % SMALL_PIECE}
    # Still slow when a large piece is tried again: small pieces for SMALL_FOR bytes more.
    before = len(dst.sizes)
    buffers = -(-SMALL_FOR // BUFFER) + 1
    written += write_buffers(pieces, buffers)
    large = [i for i, size in enumerate(dst.sizes) if i >= before and size > SMALL_PIECE]
    assert len(large) == 1
    assert sum(dst.sizes[before : large[0]]) >= SMALL_FOR - 2 * BUFFER
    # Cheap again: the next large piece tried stays large, and so do the rest.
    dst.slow = False
    before = len(dst.sizes)
    written += write_buffers(pieces, buffers + 4)
    tail = dst.sizes[before:]
    first_large = next(i for i, size in enumerate(tail) if size > SMALL_PIECE)
    assert SMALL_PIECE not in tail[first_large:]  # (a buffer's remainder is never 32 KiB)
    assert max(tail[first_large:]) == WRITE_PIECE
    assert tail[-9:] == [WRITE_PIECE, WRITE_PIECE, BUFFER % WRITE_PIECE] * 3
    assert bytes(dst.data) == written


def test_only_pieces_large_enough_are_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A buffer's short tail (and any write under JUDGED_PIECE) costs its syscall, whatever the
    state: it never switches the writer to small pieces."""
    dst = Clocked(monkeypatch)
    pieces = Pieces(dst.write)
    dst.slow = True
    small = JUDGED_PIECE - 1
    for _ in range(4):
        pieces.write(bytearray(small), small)
    assert dst.sizes == [small] * 4
    pieces.write(bytearray(2 * WRITE_PIECE), 2 * WRITE_PIECE)
    assert dst.sizes[4:] == [WRITE_PIECE] + [SMALL_PIECE] * (WRITE_PIECE // SMALL_PIECE)


def test_short_writes_are_followed_by_the_rest() -> None:
    """os.write over an fd (crypto/direct.py's page-cache path) may write less than it was given."""
    written = bytearray()

    def short(data: memoryview) -> int:
        taken = min(len(data), 1000)
        written.extend(data[:taken])
        return taken

    buffer = bytearray(os.urandom(BUFFER))
    Pieces(short).write(buffer, BUFFER - 7)
    assert written == buffer[: BUFFER - 7]


def test_a_write_that_returns_none_took_everything() -> None:
    """A duck-typed file (review/vault.py's hashing one) returns None from write()."""
    written = bytearray()

    def takes_all(data: memoryview) -> None:
        written.extend(data)

    buffer = bytearray(os.urandom(BUFFER))
    Pieces(takes_all).write(buffer, BUFFER)
    assert written == buffer


def test_a_write_that_takes_nothing_is_an_error_not_a_spin() -> None:
    with pytest.raises(OSError, match="took none"):
        Pieces(lambda data: 0).write(bytearray(100), 100)
