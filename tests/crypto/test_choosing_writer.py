"""crypto/overlap.py's ChoosingWriter: every byte once and in order, window by window behind (on
the write-behind thread) or here, whichever has moved the stream faster lately."""

import errno
import threading

import pytest

from crypto import overlap
from crypto.overlap import PROBE_WINDOWS, WINDOW_BUFFERS, ChoosingWriter

SIZE = 1000  # asked of the writer; its buffers hold HANDOFF_BATCHES times as much
WRITER = "tamga-write-behind"


class Timed:
    """A destination whose every write moves a fake wall clock (overlap.time.monotonic) on by the
    seconds its state gives for the thread that writes: behind (the write-behind thread) or here."""

    def __init__(self, patch: pytest.MonkeyPatch, behind: float, here: float) -> None:
        self.now = 0.0
        self.cost = {True: behind, False: here}
        self.data = bytearray()
        self.ways: list[bool] = []  # for each write (one a buffer: under JUDGED_PIECE), behind or here
        patch.setattr(overlap.time, "monotonic", lambda: self.now)

    def write(self, data: memoryview) -> int:
        behind = threading.current_thread().name == WRITER
        self.ways.append(behind)
        self.data += data
        self.now += self.cost[behind]
        return len(data)


def write_buffers(writer: ChoosingWriter, count: int) -> bytes:
    """Hand `count` buffers over, each filled with its number (mod 256) and a different length."""
    written = bytearray()
    for number in range(count):
        buffer = writer.buffer()
        length = len(buffer) - number % 7
        buffer[:length] = bytes([number % 256]) * length
        writer.write(buffer, length)
        written += buffer[:length]
    writer.close()
    return bytes(written)


def window_ways(dst: Timed, windows: int) -> list[bool]:
    """Whether each window's buffers were written behind (all of a window go the same way)."""
    ways = dst.ways[: windows * WINDOW_BUFFERS]
    by_window = [ways[at : at + WINDOW_BUFFERS] for at in range(0, len(ways), WINDOW_BUFFERS)]
    assert all(len(set(window)) == 1 for window in by_window)
    return [window[0] for window in by_window]


def expected_ways(faster_behind: bool, windows: int) -> list[bool]:
    """Behind first, here second, then the faster way, the other tried every PROBE_WINDOWS."""
    ways = [True, False]
    for window in range(2, windows):
        probe = (window - 1) % PROBE_WINDOWS == 0
        ways.append(faster_behind != probe)
    return ways


def test_every_byte_once_in_order_as_the_windows_change_way(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Timed(monkeypatch, behind=1.0, here=0.2)
    windows = PROBE_WINDOWS + 4
    written = write_buffers(ChoosingWriter(dst, SIZE), windows * WINDOW_BUFFERS + 3)  # and a part window

    assert bytes(dst.data) == written
    assert set(window_ways(dst, windows)) == {True, False}
    assert not [thread for thread in threading.enumerate() if thread.name == WRITER]


@pytest.mark.parametrize("faster_behind", [True, False], ids=["behind-faster", "here-faster"])
def test_the_faster_way_is_kept_and_the_other_tried_every_probe_windows(
    monkeypatch: pytest.MonkeyPatch, faster_behind: bool
) -> None:
    dear, cheap = 1.0, 0.2
    dst = Timed(monkeypatch, behind=cheap if faster_behind else dear, here=dear if faster_behind else cheap)
    windows = 2 * PROBE_WINDOWS + 3
    write_buffers(ChoosingWriter(dst, SIZE), windows * WINDOW_BUFFERS)

    assert window_ways(dst, windows) == expected_ways(faster_behind, windows)


def test_a_change_of_state_is_followed_after_a_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    dst = Timed(monkeypatch, behind=1.0, here=0.2)
    writer = ChoosingWriter(dst, SIZE)
    windows = 3 * PROBE_WINDOWS
    for number in range(windows * WINDOW_BUFFERS):
        if number == PROBE_WINDOWS * WINDOW_BUFFERS // 2:
            dst.cost = {True: 0.2, False: 1.0}  # now the thread's writes are the cheap ones
        writer.write(writer.buffer(), 1)
    writer.close()

    ways = window_ways(dst, windows)
    assert not any(ways[2 : PROBE_WINDOWS // 2])  # here, while it was the faster
    # The first probe after the change (window PROBE_WINDOWS + 1) shows behind faster. The window
    # after it is chosen while the probe's last writes may still be going on; from the next one on,
    # every window but the probes goes behind.
    after = PROBE_WINDOWS + 3
    assert ways[after:] == expected_ways(True, windows)[after:]


@pytest.mark.parametrize("failing", [3, WINDOW_BUFFERS + 3], ids=["behind", "here"])
def test_a_failed_write_is_raised_whichever_way_it_went(failing: int) -> None:
    class Full:
        def __init__(self) -> None:
            self.writes = 0

        def write(self, data: memoryview) -> int:
            self.writes += 1
            if self.writes > failing:
                raise OSError(errno.ENOSPC, "No space left on device")
            return len(data)

    writer = ChoosingWriter(Full(), SIZE)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="No space left on device"):
        try:
            for _ in range(3 * WINDOW_BUFFERS):
                writer.write(writer.buffer(), 10)
        finally:
            writer.close()  # after a failure too, the thread stops (and raises it again)
    assert not [thread for thread in threading.enumerate() if thread.name == WRITER]
