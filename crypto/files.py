"""Files that hold secrets or sealed data: created private (0600), never overwritten, fsynced.

Shared by the intake and the station, which both write keys, envelopes and bundles.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from crypto.direct import create_direct

PRIVATE_MODE = 0o600


def create_private(path: str | os.PathLike[str], buffering: int = -1) -> BinaryIO:
    """Open a new file for writing, mode 0600; FileExistsError if anything is at path."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    return os.fdopen(fd, "wb", buffering=buffering)


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a rename or link in this directory durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Create path holding data, durably; never overwrites."""
    with create_private(path) as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


@contextmanager
def atomic_new_file(path: str | os.PathLike[str], direct: bool = False) -> Iterator[BinaryIO]:
    """Write to a private `.NAME.part` beside path; link it into place only if the body succeeds.

    Nothing appears at path unless the whole file was written and fsynced, and an existing file
    is never replaced (FileExistsError, even if one appears meanwhile). `direct` writes past the
    page cache (crypto/direct.py), for big files that nothing reads back soon.
    """
    target = Path(path)
    if os.path.lexists(target):
        raise FileExistsError(os.strerror(17), str(target))
    part = target.with_name(f".{target.name}.part")
    try:
        with (
            cast(BinaryIO, create_direct(part, behind=True))
            if direct
            else create_private(part, 1 << 20) as out
        ):
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.link(part, target)
    finally:
        part.unlink(missing_ok=True)
    fsync_directory(target.parent)
