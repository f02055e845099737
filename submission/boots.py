"""Which boot of the machine a directory's unsynced writes belong to.

Resumable uploads are fsynced once, when complete, not after every piece: a killed worker loses
nothing it wrote (the page cache outlives any process), only a crash of the machine does. So a marker
beside the uploads directory records the kernel's boot id; the first process to look after a reboot finds
another id there and must forget every incomplete upload, whose recorded offsets may now exceed
what reached the disk (docs/threat-model.md, "Resumable uploads after a crash").
"""

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


def current_boot_id() -> str | None:
    """This boot's id (Linux), or None where the kernel tells none."""
    try:
        return BOOT_ID_PATH.read_text().strip() or None
    except OSError:
        return None


def marker_for(directory: Path) -> Path:
    """Beside the directory, not in it: the directory holds only parts."""
    return directory.with_name(directory.name + ".boot_id")


def once_per_boot(directory: Path, boot_id: str, forget: Callable[[], object]) -> None:
    """Call `forget` if `directory` was last written in another boot, then mark it as this boot's.

    Under one lock, so no process writes in this boot until the forgetting is done, and the
    marker is durable before any unsynced byte of this boot is written (every writer asks first).
    """
    fd = os.open(marker_for(directory), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.pread(fd, 64, 0).decode("ascii", "replace").strip() == boot_id:
            return
        forget()
        os.ftruncate(fd, 0)
        os.pwrite(fd, boot_id.encode("ascii") + b"\n", 0)
        os.fsync(fd)
    finally:
        os.close(fd)
