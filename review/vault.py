"""The vault: sealed envelopes stored by the SHA-256 of their ciphertext, fsynced, never modified.

Imports write into a fresh staging directory first; only a bundle that verified completely is
moved in. Staging left behind by a killed import is removed before the next one.
"""

import concurrent.futures
import contextlib
import hashlib
import io
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from crypto import Recipient, seal_stream
from crypto.files import create_private, fsync_directory
from review.pipeline import Runner

_DIGEST = re.compile(r"[0-9a-f]{64}")
STAGING = ".staging"
_BLOCK = 1 << 20  # copy and read-ahead size


class Readable(Protocol):
    def read(self, size: int = ...) -> bytes: ...


class Hashing:
    """A file wrapper that hashes every byte read (an envelope) or written (an archive, an envelope)."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.digest, self.size = file, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        return self._seen(self.file.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._seen(self.file.readline(size))

    def write(self, data: bytes) -> None:
        self.file.write(self._seen(data))

    def _seen(self, data: bytes) -> bytes:
        self.digest.update(data)
        self.size += len(data)
        return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Vault:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise ValueError("not a SHA-256 digest")
        return self.root / digest[:2] / f"{digest}.age"

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def open(self, digest: str) -> BinaryIO:
        return open(self.path(digest), "rb")

    def clear_staging(self) -> None:
        shutil.rmtree(self.root / STAGING, ignore_errors=True)

    def staging(self) -> "Staging":
        self.clear_staging()
        directory = self.root / STAGING / secrets.token_hex(8)
        directory.mkdir(parents=True, mode=0o700)
        return Staging(self, directory)


class Staging:
    """Envelopes received but not yet in the vault.

    A received envelope is fsynced on a thread of its own while the import reads the next one:
    fsync waits for the disk, not a core. commit() waits for every fsync before anything moves.
    """

    def __init__(self, vault: Vault, directory: Path) -> None:
        self.vault = vault
        self.directory = directory
        self.staged: list[str] = []
        self._syncer: concurrent.futures.ThreadPoolExecutor | None = None
        self._syncing: list[concurrent.futures.Future[None]] = []
        self._received: list[BinaryIO] = []  # closed by their fsync, or at the latest by commit/discard

    def path(self, digest: str) -> Path:
        return self.directory / f"{digest}.age"

    def write(self, digest: str, src: Readable) -> None:
        with create_private(self.path(digest)) as out:
            while block := src.read(_BLOCK):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        self.staged.append(digest)

    def seal(self, src: BinaryIO, recipients: Sequence[Recipient]) -> tuple[str, int]:
        """Seal src into a new staged envelope (e.g. a working copy); return its SHA-256 and size."""
        part = self.directory / f"sealing-{secrets.token_hex(8)}"
        with create_private(part) as out:
            envelope = Hashing(out)
            seal_stream(src, cast(BinaryIO, envelope), recipients)
            out.flush()
            os.fsync(out.fileno())
        digest = envelope.digest.hexdigest()
        os.replace(part, self.path(digest))
        self.staged.append(digest)
        return digest, envelope.size

    @contextlib.contextmanager
    def receive(self, digest: str, src: Readable, worker: Runner) -> Iterator[BinaryIO]:
        """Stage src while the block reads it: the reader it yields hands every block it reads to
        `worker` to be written; what the block leaves unread is copied on leaving, then fsynced.

        One read of the envelope serves both its copy into the vault and its opening.
        """
        out = create_private(self.path(digest))
        self._received.append(out)
        raw = _Tee(src, out, worker)
        try:
            yield io.BufferedReader(raw, _BLOCK)
            raw.drain()
        except BaseException:
            try:
                worker.wait()  # no write may outlive the file
            finally:
                out.close()
            raise
        worker.submit(self._sync_later, out)  # after its writes: flushed, then fsynced and closed
        self.staged.append(digest)

    def _sync_later(self, out: BinaryIO) -> None:
        out.flush()  # complete for any reader from now on; durable once its fsync is done
        if self._syncer is None:
            self._syncer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tamga-fsync")
        self._syncing.append(self._syncer.submit(_fsync_and_close, out))

    def _wait_synced(self, failed: bool) -> None:
        """Wait for every fsync and close every received file; raise the first failure unless
        the staging is being dropped anyway (`failed`). Call once the import's worker is done."""
        if self._syncer is not None:
            self._syncer.shutdown(wait=True)
            self._syncer = None
        for out in self._received:
            with contextlib.suppress(OSError):  # a write that failed has already failed the import
                out.close()
        syncing, self._syncing, self._received = self._syncing, [], []
        if not failed:
            for future in syncing:
                future.result()

    def location(self, digest: str) -> Path:
        """Where an envelope can be read now: staged, or already in the vault."""
        staged = self.path(digest)
        return staged if staged.exists() else self.vault.path(digest)

    def commit(self) -> None:
        """Move every staged envelope into the vault and fsync the directories."""
        self._wait_synced(failed=False)
        touched = set()
        for digest in self.staged:
            target = self.vault.path(digest)
            target.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(self.path(digest), target)
            touched.add(target.parent)
        for directory in touched | {self.vault.root}:
            fsync_directory(directory)
        self.discard()

    def discard(self) -> None:
        self._wait_synced(failed=True)
        shutil.rmtree(self.directory, ignore_errors=True)
        with contextlib.suppress(OSError):
            (self.vault.root / STAGING).rmdir()


def _fsync_and_close(out: BinaryIO) -> None:
    with out:
        os.fsync(out.fileno())


class _Tee(io.RawIOBase):
    """A raw stream over src that hands each block it reads to the worker, to be written to out."""

    def __init__(self, src: Readable, out: BinaryIO, worker: Runner) -> None:
        self._src, self._out, self._worker = src, out, worker

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        block = self._src.read(len(buffer))
        if block:
            buffer[: len(block)] = block
            self._worker.submit(self._out.write, block)
        return len(block)

    def drain(self) -> None:
        while block := self._src.read(_BLOCK):
            self._worker.submit(self._out.write, block)


class LazyCopy:
    """A private temporary file for plaintext (0600 in a 0700 directory), made only when file() is
    first called: the import needs one only for the media it probes, and a directory made and
    removed for every envelope stalled on the journal behind the import's fsyncs (~17 ms each)."""

    def __init__(self) -> None:
        self._directory: Path | None = None
        self._file: BinaryIO | None = None

    def file(self) -> BinaryIO:
        if self._file is None:
            self._directory = Path(tempfile.mkdtemp(prefix="tamga-"))
            self._file = create_private(self.path)
        return self._file

    @property
    def made(self) -> bool:
        return self._directory is not None

    @property
    def path(self) -> Path:
        assert self._directory is not None, "no copy was made"
        return self._directory / "evidence"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def remove(self) -> None:
        self.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)


@contextlib.contextmanager
def lazy_private_copy() -> Iterator[LazyCopy]:
    """A LazyCopy, removed (if it was made) on leaving the block."""
    copy = LazyCopy()
    try:
        yield copy
    finally:
        copy.remove()


@contextlib.contextmanager
def private_copy() -> Iterator[tuple[BinaryIO, Path]]:
    """A private temporary file (0600 in a 0700 directory) for plaintext, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="tamga-"))
    path = directory / "evidence"
    try:
        with create_private(path) as copy:
            yield copy, path
    finally:
        shutil.rmtree(directory, ignore_errors=True)
