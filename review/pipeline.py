"""The import's second core: a worker thread that hashes and writes, in order, while the caller
reads and decrypts.

hashlib, file writes and pyca's ChaCha20-Poly1305 all release the GIL on large buffers, so the
ciphertext's copy into the vault and the plaintext's SHA-256 run beside the decryption instead of
after it. That pays only when a core is idle: on a busy machine the hand-over costs more than it
overlaps (bench/seal.py prints both), so `runner()` picks, by the same test as crypto's own
streams (crypto.overlap.second_core_idle). The queue is bounded: memory stays flat.
"""

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from crypto.overlap import second_core_idle


class Runner(Protocol):
    def submit(self, call: Callable[..., Any], *args: Any) -> None: ...

    def wait(self) -> None: ...


_DEPTH = 16  # tasks in flight: at most 16 MiB of envelope (or 16 chunks of plaintext) in memory


class Worker:
    """Run submitted calls in order on one thread; the first failure is raised by wait() or close().

    Use it as a context manager: leaving the block waits for every call and stops the thread.
    """

    def __init__(self) -> None:
        self._tasks: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue(_DEPTH)
        self._done = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tamga-import-worker", daemon=True)
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


class Inline:
    """A Runner that runs each call at once, in the calling thread."""

    def submit(self, call: Callable[..., Any], *args: Any) -> None:
        call(*args)

    def wait(self) -> None:
        pass

    def __enter__(self) -> "Inline":
        return self

    def __exit__(self, *_: object) -> None:
        pass


def runner() -> Worker | Inline:
    """A worker thread when this process may use a core that is idle now, else Inline."""
    return Worker() if second_core_idle() else Inline()
