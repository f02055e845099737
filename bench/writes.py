"""What a stream's writes cost outside the cipher: the hand-over to the write-behind thread, and
the kernel's time per write(2) size. Both set constants in crypto/overlap.py.

Run from the repository root:

    .venv/bin/python bench/writes.py                       # 1 GiB per size, 2 rounds, in ..
    .venv/bin/python bench/writes.py --sizes 256K,512K,1M,2M --rounds 3 --dir /work

It prints numbers only, never a verdict.

* hand-over: a WriteBehind (its buffers of HANDOFF_BATCHES batches of 256 KiB, a null
  destination) given --handovers buffers; wall and CPU microseconds per hand-over, once with the
  buffers of one batch (what the streams did before) and once as crypto/overlap.py has them. Each
  wakes the other thread across cores: that, not the Python, is most of its cost on a VM.
* write(2) size: a new file of --total bytes (1 GiB) written with os.write of one reused buffer
  of each --sizes size, the rounds round-robin, `sync` and 1 s between runs; wall and kernel
  seconds. On Linux 6.x ext4 a write gets a page-cache folio up to its own size, so where large
  free blocks are slow to touch (a VM whose host takes free memory back: page reporting), large
  aligned writes cost more than small ones.
* seal and open by write piece (--stream-size, e.g. 4G, or its old name --open-size; off by
  default): a file of that much random plaintext sealed into a new file, and Tamga's envelope of
  it opened into one, by Tamga in pieces of each --pieces size only (overlap.WRITE_PIECE and
  SMALL_PIECE both set to it), by Tamga as shipped (overlap.Pieces choosing), as it runs and on
  one thread, and by the age CLI (whose open writes 32 KiB at a time, its seal 64 KiB + 16):
  bench/seal.py's contestants and timing, round-robin, `sync` and 1 s before each run; median
  wall, user and kernel seconds, and how many Tamga runs could use the second thread. It tells
  whether a state of the VM that makes large writes dear makes a stream dear, which piece
  resists it, and whether Pieces finds it.
"""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import crypto  # noqa: E402
from bench.seal import OVERLAPPED, make_age, make_input, make_tamga, round_robin, timed  # noqa: E402
from bench.sizes import parse_size, size_label  # noqa: E402
from crypto import overlap  # noqa: E402
from crypto._stream import BATCH_CHUNKS, SEALED_CHUNK_SIZE  # noqa: E402
from crypto.keyfile import identity_file_text  # noqa: E402


class _Null:
    def write(self, data: memoryview) -> int:
        return len(data)


def handover_cost(handovers: int, batches: int) -> tuple[float, float]:
    """Microseconds of wall and of CPU (user + sys) per hand-over of buffers of `batches` batches."""
    saved = overlap.HANDOFF_BATCHES
    overlap.HANDOFF_BATCHES = batches
    try:
        writer = overlap.file_writer_behind(_Null(), SEALED_CHUNK_SIZE * BATCH_CHUNKS)  # type: ignore[arg-type]
    finally:
        overlap.HANDOFF_BATCHES = saved
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for _ in range(handovers):
        buffer = writer.buffer()
        writer.write(buffer, len(buffer))
    writer.close()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall / handovers * 1e6, cpu / handovers * 1e6


def write_file(path: Path, size: int, total: int) -> tuple[float, float]:
    """Wall and kernel seconds to write a new file of `total` bytes in writes of `size`."""
    buffer = os.urandom(size)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        left = total
        while left > 0:
            left -= os.write(fd, buffer[: min(size, left)])
    finally:
        os.close(fd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    path.unlink()
    return wall, after.ru_stime - before.ru_stime


def streams_by_piece(work: Path, size: int, pieces: list[int], rounds: int) -> None:
    """Print the median wall, user and kernel seconds of sealing one file and of opening one
    envelope each way, with bench/seal.py's contestants and its timing (a `sync` and 1 s before
    each run)."""
    identity = crypto.X25519Identity.generate()
    key_file, plain, sealed, out = work / "key", work / "plain", work / "sealed", work / "out"
    key_file.write_text(identity_file_text(identity))
    make_input(plain, size)
    shipped = make_tamga(identity)
    shipped[0](plain, sealed)
    OVERLAPPED.clear()  # count the timed runs only

    def fixed(piece: int, step: Callable[[Path, Path], None], src: Path, dst: Path) -> None:
        """Tamga's seal or open with `piece` as its only write size."""
        saved = overlap.WRITE_PIECE, overlap.SMALL_PIECE
        overlap.WRITE_PIECE = overlap.SMALL_PIECE = piece
        try:
            step(src, dst)
        finally:
            overlap.WRITE_PIECE, overlap.SMALL_PIECE = saved

    ways: dict[str, tuple[Callable[[Path, Path], None], Callable[[Path, Path], None]]] = {
        f"tamga, {size_label(p)} pieces only": (partial(fixed, p, shipped[0]), partial(fixed, p, shipped[1]))
        for p in pieces
    }
    chosen = {True: 0, False: 0}  # windows Tamga as shipped wrote behind / here, timed runs only
    choose = overlap.ChoosingWriter._next_way

    def choosing(
        way: Callable[[overlap.ChoosingWriter], bool],
        step: Callable[[Path, Path], None],
        src: Path,
        dst: Path,
    ) -> None:
        """Tamga's seal or open with `way` choosing each window's way (ChoosingWriter._next_way)."""
        overlap.ChoosingWriter._next_way = way  # type: ignore[method-assign, assignment]
        try:
            step(src, dst)
        finally:
            overlap.ChoosingWriter._next_way = choose  # type: ignore[method-assign]

    def counted(writer: overlap.ChoosingWriter) -> bool:
        way = choose(writer)
        chosen[way] += 1
        return way

    def behind(writer: overlap.ChoosingWriter) -> bool:
        return True  # every window on the thread, as before ChoosingWriter

    ways["tamga, always behind"] = (
        partial(choosing, behind, shipped[0]),
        partial(choosing, behind, shipped[1]),
    )
    ways["tamga as shipped"] = (
        partial(choosing, counted, shipped[0]),
        partial(choosing, counted, shipped[1]),
    )
    ways["tamga as shipped, 1 thread"] = make_tamga(identity, single=True)
    if shutil.which("age"):
        ways["age CLI"] = make_age(str(identity.recipient), key_file)
    runs: dict[str, list[tuple[float, float, float]]] = {
        f"{step} {name}": [] for step in ("seal", "open") for name in ways
    }
    for name in round_robin(list(ways), rounds):
        for step, call, src in (("seal", ways[name][0], plain), ("open", ways[name][1], sealed)):
            runs[f"{step} {name}"].append(timed(call, src, out, settle=1.0))
            out.unlink()
    for name, figures in runs.items():
        wall, cpu, user = (statistics.median(f[i] for f in figures) for i in range(3))
        each = " ".join(f"{f[0]:.2f}" for f in figures)
        kernel = cpu - user
        print(f"  {name:<35} wall {wall:6.2f} s, user {user:5.2f}, kernel {kernel:5.2f} (each wall: {each})")
    print(f"  (Tamga runs that could use the second thread: {sum(OVERLAPPED)} of {len(OVERLAPPED)})")
    print(f"  (windows Tamga as shipped wrote behind / here: {chosen[True]} / {chosen[False]})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="64K,256K,512K,1M,2M", help="write(2) sizes (default: %(default)s)"
    )
    parser.add_argument("--total", default="1G", help="bytes per file (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--handovers", type=int, default=4096)
    parser.add_argument("--dir", type=Path, default=REPO.parent, help="where the files go (default: ..)")
    parser.add_argument(
        "--stream-size",
        "--open-size",
        default="0",
        help="file to seal and envelope to open by write piece (default: off)",
    )
    parser.add_argument("--pieces", default="32K,128K,512K", help="fixed write sizes (default: %(default)s)")
    args = parser.parse_args()
    sizes = [parse_size(text) for text in args.sizes.split(",")]
    total = parse_size(args.total)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} (1 min)")
    print(f"\n=== hand-over to the write-behind thread, {args.handovers} buffers, null destination ===")
    for batches, what in (
        (1, "one batch a buffer (before)"),
        (overlap.HANDOFF_BATCHES, "crypto/overlap.py's"),
    ):
        wall, cpu = handover_cost(args.handovers, batches)
        size = batches * BATCH_CHUNKS * SEALED_CHUNK_SIZE
        per_gib = cpu * (1 << 30) / size / 1e6
        print(
            f"  {what:<30} {size_label(size) if size % 1024 == 0 else f'{size} B':>10}: "
            f"{wall:6.1f} us wall, {cpu:6.1f} us CPU each; {per_gib:.3f} CPU s per GiB moved"
        )

    print(f"\n=== write(2) of a new {size_label(total)} file, by write size, {args.rounds} round(s) ===")
    with tempfile.TemporaryDirectory(prefix="tamga-writes-", dir=args.dir) as work:
        path = Path(work) / "out"
        runs: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
        for size in round_robin(sizes, args.rounds):
            os.sync()
            time.sleep(1)
            runs[size].append(write_file(path, size, total))
    for size, figures in runs.items():
        wall = statistics.median(w for w, _ in figures)
        kernel = statistics.median(k for _, k in figures)
        each = " ".join(f"{k:.2f}" for _, k in figures)
        print(
            f"  {size_label(size):>8}: {total / wall / 1e6:7.1f} MB/s, "
            f"kernel {kernel:5.2f} s (each run: {each})"
        )

    stream_size = parse_size(args.stream_size)
    if stream_size:
        pieces = [parse_size(text) for text in args.pieces.split(",") if text]
        print(f"\n=== seal and open of {size_label(stream_size)} by write piece, {args.rounds} round(s) ===")
        with tempfile.TemporaryDirectory(prefix="tamga-writes-", dir=args.dir) as work:
            streams_by_piece(Path(work), stream_size, pieces, args.rounds)


if __name__ == "__main__":
    main()
