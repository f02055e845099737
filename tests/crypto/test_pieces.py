"""crypto/overlap.py's Pieces: every byte written once, in order (also through short writes), in
whichever of whole units and small pieces has cost the writer less lately."""

import os
from collections.abc import Callable

import pytest

from crypto import overlap
from crypto.overlap import JUDGED_PIECE, PROBE_EVERY, SMALL_PIECE, WRITE_PIECE, Pieces

BUFFER = 4 * 262208  # a WriteBehind's buffer: four sealed batches, not a multiple of any piece
UNIT = -(-BUFFER // 3)  # ...written as three units of equal length, none over WRITE_PIECE
SYSCALL = 2e-6  # seconds a write costs whatever its size


def cheap(size: int) -> float:
    """Seconds per byte in a cheap state: any size costs the same (the syscall aside)."""
    return 0.3e-9


def whole_dear(size: int) -> float:
    """Large folios are fresh memory the host must back: small pieces are cheaper."""
    return 5e-9 if size > SMALL_PIECE else 0.5e-9


def small_dear(size: int) -> float:
    """The other costly state (2026-12-02, 03:42): small pieces cost twice as much per byte."""
    return 0.5e-9 if size > SMALL_PIECE else 1.3e-9


class Clocked:
    """A destination whose every write costs the writer SYSCALL + state(size) * size seconds of
    thread time."""

    def __init__(self, patch: pytest.MonkeyPatch, state: Callable[[int], float] = cheap) -> None:
        self.now = 0.0
        self.sizes: list[int] = []
        self.data = bytearray()
        self.state = state
        patch.setattr(overlap.time, "thread_time", lambda: self.now)

    def write(self, data: memoryview) -> int:
        self.sizes.append(len(data))
        self.data += data
        self.now += SYSCALL + self.state(len(data)) * len(data)
        return len(data)


def write_buffers(pieces: Pieces, count: int) -> bytearray:
    written = bytearray()
    for number in range(count):
        buffer = bytearray(bytes([number % 251]) * BUFFER)
        pieces.write(buffer, len(buffer))
        written += buffer
    return written


def units_written_small(sizes: list[int]) -> list[bool]:
    """For each unit, in order, whether it went in small pieces (several writes) or whole (one)."""
    ways, at = [], 0
    while at < len(sizes):
        whole = sizes[at] > SMALL_PIECE
        ways.append(not whole)
        at += 1 if whole else -(-UNIT // SMALL_PIECE)
    return ways


def test_every_byte_once_in_order_in_units_of_equal_length(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Clocked(monkeypatch)
    written = write_buffers(Pieces(dst.write), 8)
    assert bytes(dst.data) == written
    assert max(dst.sizes) <= WRITE_PIECE
    assert {size for size in dst.sizes if size > SMALL_PIECE} <= {UNIT, BUFFER - 2 * UNIT}
    assert min(dst.sizes) > SMALL_PIECE // 2  # no short remainder of a buffer, whatever its length


def test_a_cheap_state_writes_whole_units_and_tries_small_pieces_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dst = Clocked(monkeypatch)
    written = write_buffers(Pieces(dst.write), 3 * PROBE_EVERY // 3 + 2)
    ways = units_written_small(dst.sizes)
    assert ways[:2] == [False, True]  # the first unit whole, the second in small pieces: both timed
    assert sum(ways) == 1 + (len(ways) - 2) // PROBE_EVERY  # then small pieces only as a probe
    assert bytes(dst.data) == written


def test_where_whole_units_are_dear_small_pieces_are_written(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Clocked(monkeypatch, whole_dear)
    write_buffers(Pieces(dst.write), 2 * PROBE_EVERY // 3 + 2)
    ways = units_written_small(dst.sizes)
    assert ways[:2] == [False, True]
    assert len(ways) - sum(ways) == 1 + (len(ways) - 2) // PROBE_EVERY  # whole only as a probe


def test_where_small_pieces_are_dear_whole_units_are_written(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Clocked(monkeypatch, small_dear)
    write_buffers(Pieces(dst.write), 2 * PROBE_EVERY // 3 + 2)
    ways = units_written_small(dst.sizes)
    assert sum(ways) == 1 + (len(ways) - 2) // PROBE_EVERY


def test_one_slow_whole_write_does_not_turn_the_writer_to_small_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Clocked(monkeypatch)
    pieces = Pieces(dst.write)
    write_buffers(pieces, 2)
    spikes = [20e-9]  # the next whole write only: a block the host must back again

    def spike(size: int) -> float:
        return spikes.pop() if spikes and size > SMALL_PIECE else cheap(size)

    dst.state = spike
    before = len(dst.sizes)
    write_buffers(pieces, 4)
    assert not spikes
    assert min(dst.sizes[before:]) > SMALL_PIECE


def test_a_change_of_state_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Clocked(monkeypatch, whole_dear)
    pieces = Pieces(dst.write)
    write_buffers(pieces, PROBE_EVERY)  # settled on small pieces, whole units probed meanwhile
    dst.state = small_dear
    before = len(dst.sizes)
    write_buffers(pieces, 4 * PROBE_EVERY)  # enough probes for the median of the whole ones to turn
    ways = units_written_small(dst.sizes[before:])
    assert ways[-PROBE_EVERY // 2 :] == [False] * (PROBE_EVERY // 2)


def test_writes_shorter_than_a_judged_unit_are_written_whole_and_not_timed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream's short last buffer costs its syscall, whatever the state: it is not a sample."""
    dst = Clocked(monkeypatch, whole_dear)
    pieces = Pieces(dst.write)
    short = JUDGED_PIECE - 1
    for _ in range(4):
        pieces.write(bytearray(short), short)
    assert dst.sizes == [short] * 4
    pieces.write(bytearray(2 * WRITE_PIECE), 2 * WRITE_PIECE)
    assert dst.sizes[4:] == [WRITE_PIECE] + [SMALL_PIECE] * (WRITE_PIECE // SMALL_PIECE)  # the first two


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
    """A duck-typed file (review/vault.py's Hashing) returns None from write()."""
    written = bytearray()

    def takes_all(data: memoryview) -> None:
        written.extend(data)

    buffer = bytearray(os.urandom(BUFFER))
    Pieces(takes_all).write(buffer, BUFFER)
    assert written == buffer


def test_a_write_that_takes_nothing_is_an_error_not_a_spin() -> None:
    with pytest.raises(OSError, match="took none"):
        Pieces(lambda data: 0).write(bytearray(100), 100)
