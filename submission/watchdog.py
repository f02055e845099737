"""Deadlines and a minimum data rate for request bodies, enforced from one thread per worker.

A socket timeout bounds one silent wait, not a trickle: a byte every few seconds keeps a read
alive for ever. So every body being read is registered here with its socket; one daemon thread
per process looks at each once a second and, when a deadline has passed or too few bytes came
in the last window, shuts the socket's read side. The blocked read then returns at once, the
reader sees the cut (`check()` raises TooSlow), and the response can still be written.
"""

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

from submission.errors import TooSlow

TICK_SECONDS = 1.0


class Watch:
    """One body being read. The reader calls `arrived(n)` after each read and `check()` to stop."""

    def __init__(self, sock: socket.socket | None, deadline: float | None) -> None:
        self.sock = sock
        self.deadline = deadline
        self.received = 0
        self.min_rate = 0
        self.window = 0.0
        self._window_start = time.monotonic()
        self._window_received = 0
        self.cut = False

    def arrived(self, count: int) -> None:
        self.received += count

    def set_deadline(self, deadline: float | None) -> None:
        self.deadline = deadline

    def require_rate(self, bytes_per_second: int, window_seconds: float) -> None:
        """From now on, each window must bring at least bytes_per_second × window_seconds."""
        self.min_rate, self.window = bytes_per_second, window_seconds
        self._window_start, self._window_received = time.monotonic(), self.received

    def too_slow(self, now: float) -> bool:
        if self.deadline is not None and now >= self.deadline:
            return True
        if self.min_rate and now - self._window_start >= self.window:
            if self.received - self._window_received < self.min_rate * self.window:
                return True
            self._window_start, self._window_received = now, self.received
        return False

    def check(self) -> None:
        """Raise TooSlow if the body was cut, or (without a socket to cut) is past its deadline."""
        if self.cut or (self.sock is None and self.too_slow(time.monotonic())):
            self.cut = True
            raise TooSlow()


class Watchdog:
    """The per-process thread that cuts slow bodies; started on first use in each process."""

    def __init__(self) -> None:
        self._watches: set[Watch] = set()
        self._lock = threading.Lock()
        self._pid: int | None = None

    @contextlib.contextmanager
    def watch(self, sock: socket.socket | None, deadline: float | None) -> Iterator[Watch]:
        watch = Watch(sock, deadline)
        if sock is not None:
            self._start()
            with self._lock:
                self._watches.add(watch)
        try:
            yield watch
        finally:
            with self._lock:
                self._watches.discard(watch)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()  # a forked child has no copy of the parent's thread
            self._watches.clear()
        threading.Thread(target=self._run, name="tamga-watchdog", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            now = time.monotonic()
            with self._lock:
                late = [w for w in self._watches if not w.cut and w.too_slow(now)]
                for watch in late:
                    watch.cut = True
            for watch in late:
                assert watch.sock is not None
                with contextlib.suppress(OSError):
                    watch.sock.shutdown(socket.SHUT_RD)
