"""Sealed envelopes on disk: written as a locked `*.part` under a random name, renamed when complete.

Only ciphertext ever reaches this directory: callers write through crypto.Sealer.
"""

import contextlib
import fcntl
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from crypto.files import create_private, fsync_directory
from submission.reserve import DiskFullError, DiskReserve

__all__ = ["DiskFullError", "EnvelopeStore", "PendingEnvelope"]

PART_SUFFIX = ".part"
SEALED_SUFFIX = ".age"
# Unbuffered: the sealer writes whole 64 KiB chunks, so a buffer would only cost every upload
# memory and a copy.
SEALED_WRITE_BUFFER = 0


class PendingEnvelope:
    """An envelope being written. commit() makes it visible; discard() leaves nothing behind.

    Writes through write() claim their disk space from the reserve first (submission/reserve.py).
    """

    def __init__(
        self, directory: Path, reserve: DiskReserve | None = None, part_directory: Path | None = None
    ) -> None:
        self.name = secrets.token_hex(16) + SEALED_SUFFIX
        self._reserve = reserve
        self._written = 0
        self._claimed = 0
        self._final = directory / self.name
        self._part = (part_directory or directory) / (self.name + PART_SUFFIX)
        self.file: BinaryIO = create_private(self._part, buffering=SEALED_WRITE_BUFFER)
        # The lock tells a cleaner in another process that this part is alive.
        fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)

    @classmethod
    def resume(
        cls, directory: Path, part_directory: Path, name: str, reserve: DiskReserve | None
    ) -> "PendingEnvelope | None":
        """A resumable upload's part, locked; None when another request holds it (FileNotFoundError
        when it is gone).

        The caller reads the durable offset under the lock, then cut_to() it before writing.
        """
        if "/" in name or not name.endswith(SEALED_SUFFIX):
            raise ValueError("bad storage name")
        part = part_directory / (name + PART_SUFFIX)
        file = open(part, "r+b", buffering=SEALED_WRITE_BUFFER)  # noqa: SIM115 (kept open)
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return None
        self = cls.__new__(cls)
        self.name, self._reserve, self.file = name, reserve, file
        self._final, self._part = directory / name, part
        self._written = self._claimed = 0  # until cut_to(): nothing is written before it
        return self

    def cut_to(self, offset: int) -> None:
        """Continue at `offset`: bytes past it were never acknowledged (a killed writer's), so
        they are dropped, with any room claimed past them."""
        self.file.truncate(offset)
        self.file.seek(offset)
        self._written = self._claimed = offset

    @property
    def size(self) -> int:
        """Bytes written so far (durable after sync())."""
        return self._written

    def read_start(self, size: int) -> bytes:
        """The first `size` bytes written (at most the few KiB of a header still to be checked)."""
        return os.pread(self.file.fileno(), size, 0)

    def release(self) -> None:
        """Close without committing or discarding: the part stays for the next request."""
        with contextlib.suppress(OSError):
            self.file.close()

    def restore(self) -> None:
        """Undo a commit by moving the envelope back to its part, for a later commit to retry."""
        with contextlib.suppress(OSError):
            os.rename(self._final, self._part)

    def write(self, data: bytes | memoryview) -> None:
        """Append, claiming room first: DiskFullError rather than eat into the reserve."""
        end = self._written + len(data)
        if self._reserve is not None and end > self._claimed:
            self._claimed = self._reserve.claim(self.file.fileno(), self._claimed, end)
        self.file.write(data)
        self._written = end

    def sync(self) -> None:
        """Give back the claimed room not written (the envelope is complete), then fsync."""
        if self._claimed > self._written:
            self.file.truncate(self._written)
            self._claimed = self._written
        self.file.flush()
        os.fsync(self.file.fileno())

    def commit(self) -> None:
        """fsync, then rename into place."""
        self.sync()
        os.rename(self._part, self._final)
        self.file.close()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._part.unlink()
        with contextlib.suppress(OSError):
            self.file.close()

    def unlink_committed(self) -> None:
        """Undo a commit whose database row could not be written."""
        with contextlib.suppress(OSError):
            self._final.unlink()


class EnvelopeStore:
    """The directory of sealed envelopes."""

    def __init__(self, directory: Path, reserve_bytes: int, lock_path: Path | None = None) -> None:
        self.directory = directory
        self.reserve = DiskReserve(directory, reserve_bytes, lock_path)

    def path(self, storage_name: str) -> Path:
        if "/" in storage_name or not storage_name.endswith(SEALED_SUFFIX):
            raise ValueError("bad storage name")
        return self.directory / storage_name

    def new(self, part_directory: Path | None = None) -> PendingEnvelope:
        """A new envelope; its part lives in `part_directory` when it outlives one request."""
        return PendingEnvelope(self.directory, self.reserve, part_directory)

    def resume(self, part_directory: Path, name: str) -> PendingEnvelope | None:
        return PendingEnvelope.resume(self.directory, part_directory, name, self.reserve)

    def check_room(self, incoming: int = 0) -> None:
        self.reserve.check(incoming)

    def fsync_directory(self) -> None:
        fsync_directory(self.directory)

    def shred(self, storage_name: str) -> None:
        """Overwrite an envelope with zeros, fsync, then unlink it.

        On a journaling or copy-on-write filesystem, an SSD, or under snapshots, old blocks may
        survive the overwrite (docs/operators.md); what survives is ciphertext either way.
        """
        path = self.path(storage_name)
        try:
            with open(path, "r+b") as target:
                remaining = os.fstat(target.fileno()).st_size
                zeros = bytes(1 << 20)
                while remaining > 0:
                    remaining -= target.write(zeros[: min(remaining, len(zeros))])
                target.flush()
                os.fsync(target.fileno())
            path.unlink()
        except FileNotFoundError:
            pass

    def remove_stale_parts(
        self, directory: Path | None = None, keep: Callable[[str], bool] | None = None
    ) -> int:
        """Delete `*.part` files no live writer holds (left by a killed process); return how many.

        In a directory of resumable uploads (`directory`), `keep(name)` spares the parts of
        uploads still open. It is asked first without the lock, so that the sweep (run by every
        new upload) never locks a live upload's part: a source's PATCH or final commit at that
        moment would find it locked and be refused. Only a part with no upload is locked, and
        asked again under the lock, since its creator holds the lock until its row exists.
        """
        removed = 0
        for part in (directory or self.directory).glob("*" + PART_SUFFIX):
            if keep is not None and keep(part.name.removesuffix(PART_SUFFIX)):
                continue
            try:
                fd = os.open(part, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a live upload
            try:
                if keep is not None and keep(part.name.removesuffix(PART_SUFFIX)):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
                    removed += 1
            finally:
                os.close(fd)
        return removed
