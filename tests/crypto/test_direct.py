"""crypto/direct.py: the same bytes as a plain write, direct where the filesystem allows it, and
the page cache where it does not; a failed write is raised, never lost."""

import errno
import fcntl
import os
import random
import stat
import threading
import time
from pathlib import Path

import pytest

from crypto import direct
from crypto.direct import ALIGN, BLOCK, create_direct
from crypto.overlap import WRITE_PIECE

SIZES = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12345]
PIECES = [1, 17, ALIGN, 65552, 262208, BLOCK, 3 * BLOCK]  # odd ones: a chunk, a sealed batch


def write_in_pieces(path: Path, data: bytes, seed: int, behind: bool = False) -> bool:
    """Write data through a DirectWriter in pieces of mixed sizes; return whether it wrote direct."""
    pick = random.Random(seed)
    with create_direct(path, behind) as out:
        done = 0
        while done < len(data):
            piece = pick.choice(PIECES)
            assert out.write(memoryview(data)[done : done + piece]) == len(data[done : done + piece])
            done += piece
        was_direct = out.direct
        out.flush()
        os.fsync(out.fileno())
    return was_direct


def supports_direct(directory: Path) -> bool:
    probe = directory / "probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT)
    except OSError:
        return False
    os.close(fd)
    probe.unlink()
    return True


@pytest.fixture(params=[False, True], ids=["inline", "behind"])
def behind(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.mark.parametrize("size", SIZES)
def test_the_file_holds_exactly_what_was_written(tmp_path: Path, size: int, behind: bool) -> None:
    data = os.urandom(size)
    for seed in range(3):
        path = tmp_path / f"out{seed}"
        write_in_pieces(path, data, seed, behind)
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_whole_blocks_go_direct_and_the_tail_through_the_page_cache(tmp_path: Path, behind: bool) -> None:
    if not supports_direct(tmp_path):
        pytest.skip("this filesystem has no O_DIRECT")
    flags_at_write: list[bool] = []
    real_write = os.write

    def write(fd: int, data: memoryview) -> int:
        flags_at_write.append(bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT))
        return real_write(fd, data)

    data = os.urandom(2 * BLOCK + ALIGN + 100)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(direct.os, "write", write)
        assert write_in_pieces(tmp_path / "out", data, seed=1, behind=behind)
    assert (tmp_path / "out").read_bytes() == data
    # two whole blocks and the aligned part of the rest direct, then the last 100 bytes not
    assert flags_at_write == [True, True, True, False]


@pytest.mark.parametrize("size", SIZES)
def test_a_filesystem_without_direct_io_gets_the_same_bytes(tmp_path: Path, size: int) -> None:
    real_fcntl = fcntl.fcntl

    def refusing(fd: int, command: int, arg: int = 0) -> int:
        if command == fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_fcntl(fd, command, arg)

    real_write = os.write
    written = []

    def write(fd: int, data: memoryview) -> int:
        written.append(len(data))
        return real_write(fd, data)

    data = os.urandom(size)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(direct.fcntl, "fcntl", refusing)
        patch.setattr(direct.os, "write", write)
        assert not write_in_pieces(tmp_path / "out", data, seed=2)
    assert (tmp_path / "out").read_bytes() == data
    assert max(written, default=0) <= WRITE_PIECE  # the page cache's large-folio cost (overlap.py)


def test_a_direct_write_the_filesystem_refuses_is_written_through_the_page_cache(tmp_path: Path) -> None:
    if not supports_direct(tmp_path):
        pytest.skip("this filesystem has no O_DIRECT")
    real_write = os.write
    refused = []

    def write(fd: int, data: memoryview) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    data = os.urandom(2 * BLOCK + ALIGN + 5)  # a tail past a whole block of ALIGN, too
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(direct.os, "write", write)
        write_in_pieces(tmp_path / "out", data, seed=3)
    assert refused == [BLOCK]  # once: from then on the file is written through the page cache
    assert (tmp_path / "out").read_bytes() == data


def test_a_failed_write_is_raised_once_and_the_file_still_closes(tmp_path: Path, behind: bool) -> None:
    def full(fd: int, data: memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    out = create_direct(tmp_path / "out", behind)
    fd = out.fileno()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(direct.os, "write", full)
        out.write(b"x" * (BLOCK - 1))  # gathered, not yet written
        with pytest.raises(OSError) as raised:
            out.write(b"yz")  # a full block: written now, or handed to the thread
            out.write(b"z" * 2 * BLOCK)
            out.flush()
        assert raised.value.errno == errno.ENOSPC
        out.close()  # not the same failure again
    assert out.closed
    with pytest.raises(OSError) as closed:
        os.fstat(fd)
    assert closed.value.errno == errno.EBADF
    assert [t for t in threading.enumerate() if t.name == "tamga-direct-writer"] == []


def test_a_failure_on_the_thread_after_the_last_write_is_raised_by_flush(tmp_path: Path) -> None:
    """The thread fails the last full block before the caller flushes: flush() and close() must
    still report it (the file is short), however late the failure comes."""
    failed = threading.Event()

    def full(fd: int, data: memoryview) -> int:
        failed.set()
        raise OSError(errno.ENOSPC, "No space left on device")

    out = create_direct(tmp_path / "out", behind=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(direct.os, "write", full)
        out.write(b"x" * BLOCK)  # handed to the thread, which fails it
        assert failed.wait(5)
        time.sleep(0.05)  # the thread has finished with the failure
        with pytest.raises(OSError) as raised:
            out.close()
        assert raised.value.errno == errno.ENOSPC
    assert out.closed
    assert [t for t in threading.enumerate() if t.name == "tamga-direct-writer"] == []


def test_it_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"kept")
    with pytest.raises(FileExistsError):
        create_direct(path)
    assert path.read_bytes() == b"kept"
