"""The import's second core: a worker thread that hashes the plaintext (and copies a medium to be
probed), and one that hashes the ciphertext, in order, while the caller reads and decrypts.

hashlib and pyca's ChaCha20-Poly1305 release the GIL on large buffers, so both SHA-256s run beside
the decryption instead of after it. Two threads, not one: with the ciphertext's hash on the reading
thread, that thread had about 1.5x the worker's work, and the worker waited. That pays only when a
core is idle: on a busy machine the hand-over costs more than it overlaps (bench/seal.py prints
both), so `runner()` and `hasher()` pick, by the same test as crypto's own streams
(crypto.overlap.second_core_idle). The staged copy's writes wait for the disk, not a core, and go
to a thread of their own whatever the load (review/vault.py). The queues are bounded: memory
stays flat.
"""

from collections.abc import Callable
from typing import Any, Protocol

from crypto.overlap import Worker, second_core_idle

__all__ = ["Inline", "Runner", "Worker", "hasher", "runner"]


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


def hasher() -> Worker | None:
    """A thread for the ciphertext's SHA-256 (crypto.bundle.MemberStream) when a core is idle."""
    return Worker("tamga-import-hasher") if second_core_idle() else None
