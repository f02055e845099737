"""Overlapping a loop's writes with its work on the second core, when that pays.

file writes and pyca's ChaCha20-Poly1305 release the GIL on large buffers, so a thread that writes
one batch while the caller seals or opens the next can nearly double a stream's rate on an idle
machine; on a busy one the hand-over costs more than it overlaps, and on the bench VM, in some of
its states, two threads side by side each run slower than one alone (docs/crypto-speed.md). So
`second_core_idle()` decides whether to try, and `ChoosingWriter` times both ways as the stream
goes and keeps to the faster. Memory stays flat: a fixed pool of buffers goes round.

`Pieces` picks the size of each write(2) from what the two sizes have cost lately. `Worker` (calls run
in order on one thread) is shared with the station's import (review/pipeline.py).
"""

import errno
import os
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

_Buffer = TypeVar("_Buffer", bytearray, memoryview)

_BUFFERS = 3  # in a stream's WriteBehind pool: one being filled, one being written, one ready
# A stream's WriteBehind buffer holds this many of the caller's batches. Each hand-over wakes the
# other thread across cores, about 60 us of CPU on the bench VM (bench/writes.py): at 256 KiB batches
# that was a quarter of a second per GiB; at 1 MiB a sixteenth.
HANDOFF_BATCHES = 4
# ...but each write(2) is at most this much. Linux (6.x, ext4) gives a write a page-cache folio as
# large as the write: an aligned 1 MiB or 2 MiB write took 2x or 10x the kernel time of 512 KiB
# ones on the bench VM, whose free memory the host takes back (docs/crypto-speed.md).
WRITE_PIECE = 512 * 1024
# In some states of that VM even these cost 2 to 5 s of kernel time per GiB and 32 KiB writes (an
# order-3 folio, the largest the kernel keeps on its per-CPU lists of recently freed pages; what
# age's open writes) about 0.5; in others 32 KiB pieces cost twice as much per byte as 512 KiB
# ones. So a writer times both sizes and writes in the one that costs it less lately (Pieces).
SMALL_PIECE = 32 * 1024
JUDGED_PIECE = 128 * 1024  # shorter writes are not timed: their cost is mostly the syscall
PROBE_EVERY = 64  # timed units (32 MiB) between two tries of the size not in use
_KEPT = 5  # recent costs kept per way: their median is its cost, so one slow write does not decide
WINDOW_BUFFERS = 8  # a stream's buffers (about 8 MiB) written one way, then timed together
PROBE_WINDOWS = 16  # windows (about 128 MiB) between two tries of the way not in use
_TASKS = 16  # calls in flight: for the import, at most 16 MiB of envelope or plaintext in memory
_SNAPSHOTS = 3  # of the runnable count, for second_core_idle()
_SNAPSHOT_GAP = 0.0005  # seconds between them
_DECISION_SECONDS = 1.0  # how long an answer is kept
_decided: tuple[float, bool] | None = None  # (when, idle) of the last answer


def second_core_idle() -> bool:
    """Whether another core is idle now: the caller is the only runnable thread beyond the cores
    it leaves free. The kernel's count of runnable threads (the caller included, /proc/loadavg) is
    read a few times 0.5 ms apart and the median decides, so that a passing blip does not; the
    answer is kept for a second, so that a run of envelopes asks once.

    A load average would not do: it lags by a minute, so it still counts work that has just ended
    (a benchmark's previous run, the import's own start) and misses work that has just begun.
    """
    global _decided
    cpus = len(os.sched_getaffinity(0))
    if cpus < 2:
        return False
    now = time.monotonic()
    if _decided is not None and now - _decided[0] < _DECISION_SECONDS:
        return _decided[1]
    counts = []
    for number in range(_SNAPSHOTS):
        if number:
            time.sleep(_SNAPSHOT_GAP)
        counts.append(_runnable())
    # Without /proc/loadavg (not Linux, or hidden), the 1-minute average stands in.
    runnable = sorted(counts)[len(counts) // 2] if min(counts) >= 0 else os.getloadavg()[0]
    idle = runnable <= cpus - 1
    _decided = (now, idle)
    return idle


def _runnable() -> int:
    """Threads runnable on the machine at this instant (the caller included), or -1 if unknown."""
    try:
        with open("/proc/loadavg", "rb") as file:
            return int(file.read().split()[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return -1


class BufferWriter(Protocol):
    """Hands out a buffer to fill, then takes it back with the length to write.

    A buffer is at least the size asked of writer_for(), maybe larger (len() tells): a caller may
    fill it with several batches before handing it back.
    """

    def buffer(self) -> bytearray: ...

    def write(self, buffer: bytearray, length: int) -> None: ...

    def close(self) -> None: ...


class InlineWriter:
    """Writes each buffer at once, in the calling thread; one buffer, reused."""

    def __init__(self, dst: BinaryIO, size: int) -> None:
        self._pieces = Pieces(dst.write)
        self._buffer = bytearray(size)

    def buffer(self) -> bytearray:
        return self._buffer

    def write(self, buffer: bytearray, length: int) -> None:
        self._pieces.write(buffer, length)

    def close(self) -> None:
        pass


class Cheaper:
    """Which of two ways (False, True) to do the next unit of work: a way not tried yet first (False
    before True), then the one whose last _KEPT costs have the lower median, so that one slow unit
    does not decide, and every `probe_every` choices the other, so that a change of state is
    followed. The one home of that choice: Pieces picks a write size by it, ChoosingWriter a
    thread. Costs may be recorded on another thread than the one that chooses."""

    def __init__(self, probe_every: int) -> None:
        self._costs: tuple[deque[float], deque[float]] = (deque(maxlen=_KEPT), deque(maxlen=_KEPT))
        self._lock = threading.Lock()
        self._probe_every = probe_every
        self._since_probe = 0

    def record(self, way: bool, cost: float) -> None:
        with self._lock:
            self._costs[way].append(cost)

    def choose(self) -> bool:
        with self._lock:
            false, true = list(self._costs[False]), list(self._costs[True])
        if not false or not true:
            return bool(false)
        cheaper = statistics.median(true) < statistics.median(false)
        self._since_probe += 1
        if self._since_probe >= self._probe_every:
            self._since_probe = 0
            return not cheaper
        return cheaper


class Pieces:
    """Writes a stream's buffers in units of at most WRITE_PIECE, each as one write or as pieces
    of SMALL_PIECE, whichever has cost this thread less CPU per byte lately: the median of the last
    few units written each way (the kernel's copy into the page cache is CPU time of the writer;
    thread time leaves out a busy machine's waits). The size not in use is tried once every
    PROBE_EVERY units, so a change of state is followed.

    `write` is a file's write() or os.write over an fd: a short write (a count below the piece's
    length) is followed by the rest. A write that returns None took it all, as the duck-typed
    files callers pass do (review/vault.py's Hashing).
    """

    def __init__(self, write: Callable[[memoryview], int | None]) -> None:
        self._write = write
        self._small = Cheaper(PROBE_EVERY)  # seconds per byte of units whole (False) and small (True)

    def write(self, buffer: bytearray | memoryview, length: int) -> None:
        """Write buffer[:length] in full, in units of equal length (no short write at the end)."""
        view = memoryview(buffer)[:length]
        unit = _part_length(length, WRITE_PIECE)
        for start in range(0, length, unit):
            self._write_unit(view[start : start + unit])

    def _write_unit(self, unit: memoryview) -> None:
        if len(unit) < JUDGED_PIECE:
            self._write_all(unit)
            return
        small = self._small.choose()  # the first unit is written whole, the second in small pieces
        began = time.thread_time()
        if small:
            piece = _part_length(len(unit), SMALL_PIECE)
            for start in range(0, len(unit), piece):
                self._write_all(unit[start : start + piece])
        else:
            self._write_all(unit)
        self._small.record(small, (time.thread_time() - began) / len(unit))

    def _write_all(self, piece: memoryview) -> None:
        while piece:
            written = self._write(piece)
            if written is None or written >= len(piece):
                return
            if written <= 0:
                raise OSError(errno.EIO, "a write took none of its bytes")
            piece = piece[written:]


def _part_length(length: int, most: int) -> int:
    """The length of the fewest equal parts of at most `most` bytes that cover `length` (the last
    one may be shorter by less than a byte per part)."""
    parts = max(1, -(-length // most))
    return max(1, -(-length // parts))


class Worker:
    """Run submitted calls in order on one thread; the first failure is raised by wait() or close().

    Use it as a context manager: leaving the block waits for every call and stops the thread.
    """

    def __init__(self, name: str = "tamga-worker", tasks: int = _TASKS) -> None:
        """At most `tasks` calls wait at a time: submit() blocks beyond them."""
        self._tasks: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue(tasks)
        self._done = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, call: Callable[..., Any], *args: Any) -> None:
        self._raise()
        with self._done:
            self._pending += 1
        self._tasks.put((call, args))

    def wait(self) -> None:
        """Block until every submitted call has run; raise the first failure."""
        with self._done:
            self._done.wait_for(lambda: self._pending == 0)
        self._raise()

    def close(self) -> None:
        self._tasks.put(None)
        self._thread.join()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self.wait()
        finally:
            self.close()

    def check(self) -> None:
        """Raise the first failure so far, if any."""
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (task := self._tasks.get()) is not None:
            call, args = task
            try:
                if self._error is None:  # after a failure, later calls are skipped, not run
                    call(*args)
            except BaseException as error:  # handed to the submitting thread
                self._error = error
            with self._done:
                self._pending -= 1
                self._done.notify_all()


class WriteBehind(Generic[_Buffer]):
    """Hands each filled buffer to a thread that writes it, in order, while the caller fills the
    next; a fixed pool of buffers goes round, so memory stays flat.

    The one home of writing behind: the streams' writer (writer_for) and crypto/direct.py's both
    use it. The first failure of a write is raised by the next buffer(), write(), wait() or
    close(), however late it came; close() always stops the thread, also after a failure on
    either side, so none is left behind.
    """

    def __init__(
        self,
        write: Callable[[_Buffer, int], object],
        buffers: Iterable[_Buffer],
        name: str = "tamga-write-behind",
    ) -> None:
        """`write(buffer, length)` runs on the thread; `buffers` are the pool."""
        self._write_out: Callable[[_Buffer, int], object] = write
        self._free: queue.SimpleQueue[_Buffer] = queue.SimpleQueue()
        for buffer in buffers:
            self._free.put(buffer)
        self._worker = Worker(name)

    def buffer(self) -> _Buffer:
        """A free buffer; blocks while all of them wait to be written.

        Never forever: a write that fails still gives its buffer back, and the failure is raised
        here before the buffers that the worker then skips are missed.
        """
        buffer = self._free.get()
        self._worker.check()
        return buffer

    def write(self, buffer: _Buffer, length: int) -> None:
        self._worker.submit(self._write, buffer, length)

    def wait(self) -> None:
        """Block until every buffer handed over is written; raise the first failure."""
        self._worker.wait()

    def close(self) -> None:
        """Wait for every write, stop the thread, raise the first failure."""
        try:
            self.wait()
        finally:
            self._worker.close()

    def write_here(self, buffer: _Buffer, length: int) -> None:
        """Write buffer in the calling thread, after every buffer handed over before it."""
        self.wait()
        self._write(buffer, length)

    def _write(self, buffer: _Buffer, length: int) -> None:
        try:
            self._write_out(buffer, length)
        finally:
            self._free.put(buffer)


class ChoosingWriter:
    """Writes a stream window by window (WINDOW_BUFFERS buffers each) either behind, on
    WriteBehind's thread, or here, whichever has moved it faster lately: the median wall time per
    byte of the last few windows each way. The first window goes behind, the second here, and the
    way not in use is tried again every PROBE_WINDOWS windows, so a change of state is followed.

    A window is timed from the last write of the one before it to its own last write, wherever
    each ran: the thread's head start (buffers it takes while the pool is empty) and the wait for
    its last writes are both counted. Wall time, not CPU time, because the overlap is the point.
    """

    def __init__(self, dst: BinaryIO, size: int) -> None:
        self._pieces = Pieces(dst.write)
        self._behind = WriteBehind(self._write_out, _pool(size))
        self._faster = Cheaper(PROBE_WINDOWS)  # seconds per byte of windows here (False), behind (True)
        self._handed = 0  # buffers handed to write()
        self._way = True  # of the window being handed over
        self._ways: deque[bool] = deque()  # of the windows not all written yet, oldest first
        # Of the window being written; only the writing side touches them, one side at a time.
        self._written = 0
        self._window_bytes = 0
        self._window_start = time.monotonic()

    def buffer(self) -> bytearray:
        return self._behind.buffer()

    def write(self, buffer: bytearray, length: int) -> None:
        if self._handed % WINDOW_BUFFERS == 0:
            self._way = self._next_way()
            self._ways.append(self._way)
        self._handed += 1
        if self._way:
            self._behind.write(buffer, length)
        else:
            self._behind.write_here(buffer, length)

    def close(self) -> None:
        self._behind.close()

    def _next_way(self) -> bool:
        """Whether the next window goes behind. The first does and the second does not, fixed: when
        the second is chosen, the thread may still be writing the first. Then the faster way, or
        the other as a probe."""
        window = self._handed // WINDOW_BUFFERS
        return window == 0 if window < 2 else self._faster.choose()

    def _write_out(self, buffer: bytearray, length: int) -> None:
        """Write one buffer; after a window's last, note what the window cost."""
        self._pieces.write(buffer, length)
        self._written += 1
        self._window_bytes += length
        if self._written % WINDOW_BUFFERS:
            return
        now = time.monotonic()
        self._faster.record(self._ways.popleft(), (now - self._window_start) / max(1, self._window_bytes))
        self._window_start, self._window_bytes = now, 0


def file_writer_behind(dst: BinaryIO, size: int) -> WriteBehind[bytearray]:
    """A WriteBehind to a file: buffers of HANDOFF_BATCHES times size (fewer hand-overs, each
    costly), written in Pieces."""
    return WriteBehind(Pieces(dst.write).write, _pool(size))


def _pool(size: int) -> list[bytearray]:
    """A stream's write-behind buffers: HANDOFF_BATCHES times size each (fewer hand-overs)."""
    return [bytearray(size * HANDOFF_BATCHES) for _ in range(_BUFFERS)]


@contextmanager
def writer_for(dst: BinaryIO, size: int, overlap: bool) -> Iterator[BufferWriter]:
    """A ChoosingWriter when `overlap` is asked for and the second core is idle, else an
    InlineWriter.

    Leaving the block closes it: on success every write is done (a write's failure is raised); on
    an exception the thread is stopped and that exception goes on.
    """
    writer: BufferWriter
    writer = ChoosingWriter(dst, size) if overlap and second_core_idle() else InlineWriter(dst, size)
    try:
        yield writer
    except BaseException:
        with suppress(BaseException):  # the block's own exception is the one to raise
            writer.close()
        raise
    writer.close()
