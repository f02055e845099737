"""The free-disk reserve, counted across every upload in flight in every worker process.

Uploads claim disk space ahead of their bytes with posix_fallocate, so the filesystem itself is
the ledger: its free space already leaves out what every other upload, in any process, has
claimed and not yet written. Each claim is decided under one flock, so two uploads cannot both
take the last room. A killed worker's claims are its `*.part` files, which the next worker start
removes. Nothing declared is believed: a chunked body, or one that lies about its length, claims
as its bytes arrive.
"""

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from submission.errors import OutOfSpace

CLAIM_BYTES = 8 * 1024 * 1024  # the most one upload holds claimed and unwritten, after doubling up to it


class DiskFullError(OutOfSpace):
    """Writing would eat into the free-disk reserve."""


class DiskReserve:
    """Free space that uploads must leave untouched, and the claims that keep them from it."""

    def __init__(self, directory: Path, reserve_bytes: int, lock_path: Path | None = None) -> None:
        self.directory = directory
        self.reserve_bytes = reserve_bytes
        self.lock_path = lock_path

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.directory).free

    def check(self, incoming: int = 0) -> None:
        if self.free_bytes() - incoming < self.reserve_bytes:
            raise DiskFullError()

    def claim(self, fd: int, claimed: int, needed: int) -> int:
        """Extend a file's claim from `claimed` to at least `needed` bytes; return the new claim.

        Claims double (up to CLAIM_BYTES at a time), so a small envelope claims about its size
        and a long upload takes the lock once per CLAIM_BYTES; near the reserve it claims exactly.
        """
        ahead = max(needed, claimed + min(max(claimed, 64 * 1024), CLAIM_BYTES))
        with self._locked():
            room = self.free_bytes() - self.reserve_bytes
            # Near the reserve an upload claims only what it writes: other uploads' look-ahead
            # must not refuse one whose bytes would still fit.
            target = ahead if ahead - claimed <= room else needed
            if target - claimed > room:
                # This upload is lost either way: give its room back before the lock is released,
                # so that uploads that ran out beside it can finish instead of all failing together.
                os.ftruncate(fd, 0)
                raise DiskFullError()
            os.posix_fallocate(fd, claimed, target - claimed)
        return target

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self.lock_path is None:
            yield
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
