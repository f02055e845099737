"""The import's second core: a worker thread that hashes and writes, in order, while the caller
reads and decrypts.

hashlib, file writes and pyca's ChaCha20-Poly1305 all release the GIL on large buffers, so the
ciphertext's copy into the vault and the plaintext's SHA-256 run beside the decryption instead of
after it. That pays only when a core is idle: on a busy machine the hand-over costs more than it
overlaps (bench/seal.py prints both), so `runner()` picks, by the same test as crypto's own
streams (crypto.overlap.second_core_idle). The queue is bounded: memory stays flat.
"""

from collections.abc import Callable
from typing import Any, Protocol

from crypto.overlap import Worker, second_core_idle

__all__ = ["Inline", "Runner", "Worker", "runner"]


class Runner(Protocol):
    def submit(self, call: Callable[..., Any], *args: Any) -> None: ...

    def wait(self) -> None: ...


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
    return Worker("tamga-import-worker") if second_core_idle() else Inline()
