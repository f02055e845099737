"""Writing big files straight to the disk (O_DIRECT), past the page cache.

The station's import and `python -m crypto seal/open -o FILE` write files that they fsync and do
not read back soon. Written through the page cache, every byte is first copied into a fresh
page-cache page, and on a virtual machine whose host backs each fresh page when it is first
touched, that copy cost 3 to 4 s of kernel time per GiB here, more than decrypting the same GiB
(perf of an import: copy_folio_from_iter_atomic, 40% of all samples), and it doubled or halved
from one run to the next with the VM's memory state. Written direct, a GiB costs about 0.2 s of
kernel time, the disk takes the bytes as they come instead of in a backlog, and the fsync at the
end has little left to do (docs/crypto-speed.md).

O_DIRECT wants the buffer's address, each write's length and the file offset aligned to the
device's block: bytes are gathered in a page-aligned buffer (an anonymous mmap) and written in
whole blocks; the unaligned tail is written once O_DIRECT is cleared. Where the filesystem refuses
O_DIRECT (tmpfs before Linux 6.6, many FUSE filesystems, any OS but Linux), or refuses one of its
writes, the same bytes are written through the page cache: only slower, never different.
"""

import contextlib
import errno
import fcntl
import functools
import io
import mmap
import os
from collections.abc import Iterator
from typing import Any

from crypto.overlap import Pieces, WriteBehind

ALIGN = 4096  # a multiple of every logical block size in use (512 or 4096)
BLOCK = 1 << 20  # bytes per write: fewer were slower here (256 KiB: 1.29 s/GiB against 0.77)
BEHIND = 2  # blocks a writer thread may hold while the caller fills the next
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)


class DirectWriter(io.RawIOBase):
    """A write-only file over `fd` that writes whole aligned blocks with O_DIRECT when it can.

    Writes are gathered (one copy, into page-aligned buffers that stay mapped) and go out a BLOCK
    at a time. With `behind`, a thread writes each full block while the caller fills the next:
    a direct write waits for the disk, and without it the caller cannot gather meanwhile (a 1 GiB
    seal took 1.8 to 2.0 s inline, 1.4 to 1.7 with the thread, the disk alone 1.0). flush() writes
    everything gathered, its tail through the page cache, after which the file is written through
    the page cache only. A failed write is raised once, by the next write() or flush() (or
    close()), also when the thread met it after the caller's last write; close() then closes
    without trying it again.
    """

    # Defaults, so that close() (also run by the finalizer) is safe on a half-made writer.
    _fd = -1
    _fill = 0
    _failed = True
    _views: tuple[memoryview, ...] = ()
    _behind: WriteBehind[memoryview] | None = None
    direct = False

    def __init__(self, fd: int, block: int = BLOCK, behind: bool = False) -> None:
        """Take ownership of fd (closed by close()) once this returns."""
        super().__init__()
        if block % ALIGN:
            raise ValueError("block must be a multiple of ALIGN")
        # Page-aligned, as O_DIRECT needs.
        self._views = tuple(memoryview(mmap.mmap(-1, block)) for _ in range(BEHIND + 1 if behind else 1))
        self._view = self._views[0]
        if behind:  # before the fd is taken: starting the thread can fail
            self._behind = WriteBehind(self._write_out, self._views, "tamga-direct-writer")
            self._view = self._behind.buffer()
        self._pieces = Pieces(functools.partial(os.write, fd))  # for the page cache
        self._failed = False
        self._fd = fd  # nothing after this raises
        self.direct = _set_direct(fd, True)

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        block = len(self._view)
        while view:
            take = min(block - self._fill, len(view))
            self._view[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == block:
                self._hand_over(block)
        return size

    def flush(self) -> None:
        """Write everything gathered; from now on the file is written through the page cache."""
        if self.closed or self._failed:
            return
        with self._failing():
            if self._behind is not None:
                self._behind.wait()
            if not self._fill:
                return
            start = self._fill - self._fill % ALIGN if self.direct else 0  # the whole blocks, direct
            if start:
                self._write_out(self._view, start)
            if start < self._fill:
                if self.direct:
                    self.direct = _set_direct(self._fd, False)
                self._write_out(self._view, self._fill, start)
            self._fill = 0

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.flush()
        finally:
            super().close()  # flushes again: nothing is left
            if self._behind is not None:
                with contextlib.suppress(BaseException):  # flush() has raised any failure of it
                    self._behind.close()
                self._behind = None
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._release()

    def _hand_over(self, length: int) -> None:
        """Write the full buffer, on the thread if there is one, and gather into a free one."""
        with self._failing():
            if self._behind is None:
                self._write_out(self._view, length)
            else:
                self._behind.write(self._view, length)
                self._view = self._behind.buffer()  # raises the thread's failure, if any
        self._fill = 0

    @contextlib.contextmanager
    def _failing(self) -> Iterator[None]:
        """Mark the writer failed when a failure reaches the caller, from here or from the
        thread. Only the caller's thread marks it: a failure that only the thread has met is not
        one already reported, which flush() and close() would then skip."""
        try:
            yield
        except BaseException:
            self._failed = True
            raise

    def _write_out(self, view: memoryview, stop: int, start: int = 0) -> None:
        """Write the buffer's bytes [start, stop) in full: direct while the file takes it, the
        rest through the page cache in Pieces (crypto/overlap.py says why)."""
        done = start
        while self.direct and done < stop:
            try:
                done += os.write(self._fd, view[done:stop])
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
                # The filesystem took the flag but not this write: the page cache takes it.
                self.direct = _set_direct(self._fd, False)
            else:
                if done % ALIGN:  # a short write: the rest is unaligned
                    self.direct = _set_direct(self._fd, False)
        if done < stop:
            self._pieces.write(view[done:stop], stop - done)

    def _release(self) -> None:
        """Unmap the buffers. A failed write's traceback may still hold a slice of one: then that
        mapping goes when the traceback does."""
        for view in self._views:
            buffer = view.obj
            with contextlib.suppress(BufferError, ValueError):
                view.release()
                assert isinstance(buffer, mmap.mmap)
                buffer.close()
        self._views = ()


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on (never raises: False when it cannot be) or off; return whether it is on."""
    if not _O_DIRECT:
        return False
    if not on:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_DIRECT)
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | _O_DIRECT)
    except OSError:  # EINVAL: this filesystem has no direct I/O
        return False
    return True


def create_direct(path: str | os.PathLike[str], behind: bool = False, mode: int = 0o600) -> DirectWriter:
    """A new file (O_EXCL: FileExistsError if anything is at path), written direct when it can be;
    `behind` writes on a thread while the caller gathers (for a caller that computes meanwhile)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        return DirectWriter(fd, behind=behind)
    except BaseException:  # the writer did not take the fd
        os.close(fd)
        raise
