"""Overlapping a loop's writes with its work on the second core, when that core is idle.

file writes and pyca's ChaCha20-Poly1305 release the GIL on large buffers, so a thread that writes
one batch while the caller seals or opens the next nearly doubles a stream's rate on an idle
machine; on a busy one the hand-over costs more than it overlaps (bench/seal.py prints both), so
`second_core_idle()` decides. Memory stays flat: a fixed pool of buffers goes round.
"""

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO, Protocol

_DEPTH = 3  # buffers in the pool: one being filled, one being written, one ready


def second_core_idle() -> bool:
    """Whether this process may use a core that is idle now (the 1-minute load average says)."""
    cpus = len(os.sched_getaffinity(0))
    return cpus > 1 and os.getloadavg()[0] <= cpus - 1


class BufferWriter(Protocol):
    """Hands out a buffer to fill, then takes it back with the length to write."""

    def buffer(self) -> bytearray: ...

    def write(self, buffer: bytearray, length: int) -> None: ...

    def close(self) -> None: ...


class InlineWriter:
    """Writes each buffer at once, in the calling thread; one buffer, reused."""

    def __init__(self, dst: BinaryIO, size: int) -> None:
        self._dst = dst
        self._buffer = bytearray(size)

    def buffer(self) -> bytearray:
        return self._buffer

    def write(self, buffer: bytearray, length: int) -> None:
        self._dst.write(memoryview(buffer)[:length])

    def close(self) -> None:
        pass


class WriteBehind:
    """Writes buffers on its own thread, in order, while the caller fills the next.

    The first failure of a write is raised by the next buffer(), write() or close(); close()
    always stops the thread, also after a failure on either side, so none is left behind.
    """

    def __init__(self, dst: BinaryIO, size: int) -> None:
        self._dst = dst
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(_DEPTH):
            self._free.put(bytearray(size))
        self._full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tamga-write-behind", daemon=True)
        self._thread.start()

    def buffer(self) -> bytearray:
        """A free buffer; blocks while all of them wait to be written."""
        buffer = self._free.get()
        self._raise()
        return buffer

    def write(self, buffer: bytearray, length: int) -> None:
        self._raise()
        self._full.put((buffer, length))

    def close(self) -> None:
        """Wait for every write, stop the thread, raise the first failure."""
        if self._thread.is_alive():
            self._full.put(None)
            self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._full.get()) is not None:
            buffer, length = item
            try:
                if self._error is None:  # after a failure, later buffers are dropped, not written
                    self._dst.write(memoryview(buffer)[:length])
            except BaseException as error:  # handed to the filling thread
                self._error = error
            self._free.put(buffer)  # always back in the pool, so buffer() never waits forever


@contextmanager
def writer_for(dst: BinaryIO, size: int, overlap: bool) -> Iterator[BufferWriter]:
    """A WriteBehind when `overlap` is asked for and the second core is idle, else an InlineWriter.

    Leaving the block closes it: on success every write is done (a write's failure is raised); on
    an exception the thread is stopped and that exception goes on.
    """
    writer: BufferWriter
    writer = WriteBehind(dst, size) if overlap and second_core_idle() else InlineWriter(dst, size)
    try:
        yield writer
    except BaseException:
        with suppress(BaseException):  # the block's own exception is the one to raise
            writer.close()
        raise
    writer.close()
