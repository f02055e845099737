"""Slots shared by every worker process: a slot is a lock file held with flock.

gunicorn runs several worker processes, so a cap kept in one process's memory is a cap per
worker. A slot here is `<locks dir>/<name>.lock` held with flock(LOCK_EX): whichever thread of
whichever process holds it, the others see it taken, and the kernel gives it back when its holder
dies, so a killed worker never leaks a slot. A holder unlinks its file on release; a taker that
locked a file just unlinked (its inode no longer at the path) lets go and tries again.
"""

import contextlib
import fcntl
import hashlib
import os
import random
from pathlib import Path

LOCKS_DIR = "locks"
_RETRIES = 3


class Slot:
    """One slot held; release() gives it back (the file is unlinked, then unlocked)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class SlotDirectory:
    """Named families of slots in one directory (mode 0700, created if missing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o700, exist_ok=True)

    def take(self, family: str, count: int) -> Slot | None:
        """One of the `count` slots of `family` if any is free, else None; never waits."""
        numbers = list(range(count))
        random.shuffle(numbers)  # spread takers over the files rather than all trying slot 0 first
        for number in numbers:
            slot = self._try(self.directory / f"{family}-{number}.lock")
            if slot is not None:
                return slot
        return None

    def remove_stale(self) -> int:
        """Delete slot files no one holds (a killed worker's); return how many."""
        removed = 0
        for path in self.directory.glob("*-[0-9]*.lock"):
            slot = self._try(path)
            if slot is not None:
                slot.release()  # unlinks it, as any holder does
                removed += 1
        return removed

    def _try(self, path: Path) -> Slot | None:
        for _ in range(_RETRIES):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return Slot(path, fd)
            os.close(fd)  # its holder released and unlinked it between our open and lock: again
        return None


def family_key(secret: bytes, *parts: str) -> str:
    """A file-name-safe key for a per-session family that names no session id on disk."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), key=secret[:64], digest_size=16)
    return digest.hexdigest()
