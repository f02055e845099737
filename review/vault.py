"""The vault: sealed envelopes stored by the SHA-256 of their ciphertext, fsynced, never modified.

Imports write into a fresh staging directory first; only a bundle that verified completely is
moved in. Staging left behind by a killed import is removed before the next one.
"""

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
from crypto.direct import create_direct
from crypto.files import create_private, fsync_directory
from review.pipeline import Worker

_DIGEST = re.compile(r"[0-9a-f]{64}")
STAGING = ".staging"
_BLOCK = 1 << 20  # copy and read-ahead size
_PEEK = 4096  # what readline() looks at per call; a longer line (a hybrid stanza's) takes two
_WRITES_IN_FLIGHT = 4  # blocks waiting for the staging's writer: enough to keep the disk busy


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

    def write(self, data: bytes) -> int:
        return self.file.write(self._seen(data))

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

    Staged copies are written straight to the disk (crypto/direct.py: the station fsyncs them and
    does not read them back soon, and the page cache's fresh pages were the import's largest
    cost) by a thread of their own, which also fsyncs each one once it is whole, while the import
    reads the next: both wait for the disk, not a core. commit() waits for all of it before
    anything moves; a failed write or fsync is raised by the next hand-over or by commit().
    """

    def __init__(self, vault: Vault, directory: Path) -> None:
        self.vault = vault
        self.directory = directory
        self.staged: list[str] = []
        self._writer: Worker | None = None
        self._received: list[BinaryIO] = []  # closed by their fsync, or at the latest by commit/discard

    def path(self, digest: str) -> Path:
        return self.directory / f"{digest}.age"

    def write(self, digest: str, src: Readable) -> None:
        with self._create(digest) as out:
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
    def receive(self, digest: str, src: Readable) -> Iterator[BinaryIO]:
        """Stage src while the block reads it: the reader it yields hands every block it reads to
        the staging's writer thread; what the block leaves unread is copied on leaving, then the
        copy is fsynced on that thread. On an exception, discard() (which the import calls) stops
        the thread before it closes the file.

        One read of the envelope serves both its copy into the vault and its opening.
        """
        out = self._create(digest)
        self._received.append(out)
        if self._writer is None:
            self._writer = Worker("tamga-stage-writer", _WRITES_IN_FLIGHT)
        tee = _Tee(src, out, self._writer)
        yield cast(BinaryIO, tee)
        tee.drain()
        self._writer.submit(_fsync_and_close, out)  # after its writes, in order
        self.staged.append(digest)

    def _create(self, digest: str) -> BinaryIO:
        return cast(BinaryIO, create_direct(self.path(digest)))

    def _wait_written(self, failed: bool) -> None:
        """Wait for every write and fsync and close every received file; raise the first failure
        unless the staging is being dropped anyway (`failed`)."""
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                try:
                    if not failed:
                        writer.wait()
                finally:
                    writer.close()
        finally:
            for out in self._received:
                with contextlib.suppress(OSError):  # a write that failed has already failed the import
                    out.close()
            self._received = []

    def location(self, digest: str) -> Path:
        """Where an envelope can be read now: staged, or already in the vault."""
        staged = self.path(digest)
        return staged if staged.exists() else self.vault.path(digest)

    def commit(self) -> None:
        """Move every staged envelope into the vault and fsync the directories."""
        self._wait_written(failed=False)
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
        self._wait_written(failed=True)
        shutil.rmtree(self.directory, ignore_errors=True)
        with contextlib.suppress(OSError):
            (self.vault.root / STAGING).rmdir()


def _fsync_and_close(out: BinaryIO) -> None:
    with out:
        out.flush()  # its tail: a direct write is only whole blocks
        os.fsync(out.fileno())


class _Tee(io.RawIOBase):
    """A raw stream over src that hands each block it reads to the writer, to be written to out,
    and serves its own reads from that same block: one copy, into the reader's buffer."""

    def __init__(self, src: Readable, out: BinaryIO, writer: Worker) -> None:
        self._src, self._out, self._writer = src, out, writer
        self._block = memoryview(b"")  # read from src and handed over, not yet read from here

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._block and not self._next():
            return 0
        size = min(len(buffer), len(self._block))
        buffer[:size] = self._block[:size]
        self._block = self._block[size:]
        return size

    def peek(self, size: int = 0) -> bytes:
        """Some bytes ahead, left unread: readline() (the envelope's header) asks for them, then
        reads a whole line at once instead of a byte at a time."""
        if not self._block:
            self._next()
        return bytes(self._block[:_PEEK])

    def drain(self) -> None:
        """Hand the rest of src to the writer, unread here."""
        self._block = memoryview(b"")
        while self._next():
            pass

    def _next(self) -> bool:
        block = self._src.read(_BLOCK)
        if block:
            self._writer.submit(self._out.write, block)
        self._block = memoryview(block)
        return bool(block)


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
