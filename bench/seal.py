"""Seal/open throughput and memory benchmark: Tamga vs the raw AEAD of PyNaCl and pyca vs the age
CLI; the hybrid post-quantum header's cost; the station import against its floor.

Run from the repository root:

    .venv/bin/python bench/seal.py                    # 1 GiB and 4 GiB (the default --sizes 1G,4G)
    .venv/bin/python bench/seal.py --sizes 1G --rounds 9 --dir /work
    .venv/bin/python bench/seal.py --quick            # 64 MiB smoke run

It prints numbers only; the targets are printed beside them as "met" / "NOT met", never asserted.
MB means 10^6 bytes everywhere (throughput and RSS). Throughput is plaintext bytes / wall time.

What is measured, for each size (a fresh file of os.urandom bytes):

* ceilings: raw ChaCha20-Poly1305 IETF over 64 KiB chunks (a counter nonce, no header, no STREAM
  bookkeeping, one thread), once through each binding: PyNaCl (libsodium) and pyca `cryptography`
  (OpenSSL), which crypto/ uses for the payload. Each moves the file as Tamga does, BATCH_CHUNKS
  chunks (4: 256 KiB) per read and per write syscall: "encrypt" reads a batch of plaintext, seals its 64 KiB
  chunks (pyca: readinto and encrypt_into reused buffers; PyNaCl, which takes and gives only bytes:
  each chunk read from a batch-sized file buffer, sealed into a new bytes, a batch joined per write) and
  writes the batch; "decrypt" does the same with 16 sealed chunks of 64 KiB + 16.
* tamga seal: crypto.seal_stream(src, dst, [X25519Recipient]); tamga open: crypto.open_stream (the
  payload is the same for a hybrid recipient; its header is measured on its own, below). Both
  choose their own I/O, as age does: 256 KiB batches, and the writes on a second thread when
  crypto.overlap.second_core_idle() says a core is idle (how many runs did is printed).
* age CLI: `age -r RECIPIENT -o OUT IN` and `age -d -i KEYFILE -o OUT IN` (process start included,
  a few ms, negligible at these sizes).
* tamga CLI, for information: `python -m crypto seal -r RECIPIENT -o OUT IN` and `python -m crypto
  open -i KEYFILE -o OUT IN`, what an operator runs: the interpreter's start (about 0.1 s) and an
  fsync of the output are in its time, and it writes the output past the page cache
  (crypto/direct.py), so its bytes are on the disk when it exits; age's are still in the page
  cache.

Every measurement opens its input with open(path, "rb") and writes a new output file with
open(path, "wb"), or (age) is given the two paths; the clock runs from before the files are opened
until after they are closed (no fsync: age does not fsync either). Until issue 15's batching the
ceilings and Tamga were all forced to 64 KiB reads while age chose its own; now each side picks.

Page cache and warm-up (the same for every measurement; the cache is never dropped, so these are
warm-cache figures: CPU throughput plus the cost of write() into the page cache and, at 4 GiB, of
the kernel's dirty-page writeback):

* the input is written, fsync'ed and then read through once untimed, so every measurement reads it
  from RAM (fincore's resident figure is printed);
* warm-up, untimed: each of the two ceilings, tamga and age seals and opens once (each warm-up open is
  compared byte for byte with the input). The sealed files of the warm-up are kept and are what the
  timed opens read: the ceiling's for "ceiling decrypt", tamga's for "tamga open" and also for
  "age CLI open" (a Tamga envelope is an age v1 file; same 64 KiB chunks), so a timed open never
  starts just after its sealed file was flushed, and seals and opens start from the same state;
* every timed run writes a fresh output file that is deleted right after it is timed (dropping its
  dirty pages), then `sync` and a --settle pause (default 1 s) precede the next run untimed, so each
  run starts with no dirty pages; at most input + 2 sealed + output (about 4x the size) exist;
* at 4 GiB each run writes more than the kernel's dirty_background threshold (10% of RAM), so
  writeback to the disk starts during every run; every measurement writes the same amount;
* "CPU s" is the median user + sys time of the run (this process plus, for age, its child) and
  "CPU MB/s" is size / that. Other processes on the machine (load average and CPU pressure are
  printed) stretch wall time but not CPU time, so each target is judged on both the wall and the
  CPU figures: the wall of Tamga as it runs (the write-behind thread when a core is idle), and the
  CPU of "tamga ..., 1 thread", the same calls with that thread kept off, which is how they run
  on a busy machine, the only one where CPU time is what a stream waits for. On an idle one the
  thread spends CPU of the idle core to save wall time, so its CPU figure is printed for
  information;
* --rounds rounds, round-robin: each round runs both ceilings, tamga and age (seal, then open), the order
  rotated every round, so a slow spell of the machine or disk is shared; the median is the headline
  and the targets are judged on it; the best run and every run's wall time are printed too, and,
  for information, Tamga against age round by round (in how many rounds Tamga was faster, and the
  median of the two walls' ratio within a round), which a state of the VM lasting several rounds
  sways less than the medians do.

Peak RSS: each of tamga seal and open runs once more per size in a fresh child process
(`python -m bench.children.seal_rss`) that reads its own /proc/self/status VmHWM at the end (VmRSS
after the imports, before any work, is printed as the baseline). The "4 GiB - 1 GiB" line compares
the largest size with the smallest.

Hybrid header cost (once per run): the median time of sealing and of opening a one-byte envelope
to a hybrid (mlkem768x25519) recipient, and to an X25519 one, over --header-runs runs each; the
difference is what the post-quantum stanza adds per envelope (target < 2 ms).

Station import (once per run, --import-size of plaintext in 16 files): bench/review.py's bench,
`tamga-review import` of a bundle from a real intake against the floor of copying each envelope with
SHA-256 and fsync, on a default (post-quantum) station; its import runs with the worker thread or
inline as review/pipeline.py picks by the runnable threads of that instant (crypto.overlap). --import-size 0
skips it. Every child process runs this tree's code (PYTHONPATH is set to the repository).

Everything is created in a temporary directory (by default under the repository's parent, i.e.
the same disk; --dir to choose) and removed at the end, also on error or Ctrl-C.
"""

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = str(REPO)  # every child (tamga-review, age aside) runs this tree's code

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305  # noqa: E402
from nacl import bindings  # noqa: E402

import crypto  # noqa: E402
from bench import proc  # noqa: E402
from bench.review import bench as import_bench  # noqa: E402
from bench.review import read_through  # noqa: E402
from bench.sizes import parse_size, size_label  # noqa: E402
from bench.verdict import met  # noqa: E402
from crypto import overlap  # noqa: E402 (after the path is set)
from crypto._stream import BATCH_CHUNKS  # noqa: E402

CHUNK = 64 * 1024
TAG = 16
MB = 10**6
AGE = shutil.which("age") or "/usr/bin/age"

TARGET_RATIO = 0.70
TARGET_HEADER_MS = 2.0
TARGET_RSS_MB = 64.0
TARGET_RSS_GROWTH_MB = 4.0

CHILD = "bench.children.seal_rss"  # run with `python -m`
_Name = TypeVar("_Name")


def sync() -> None:
    os.sync()


def make_input(path: Path, size: int) -> float:
    start = time.perf_counter()
    block = 16 << 20
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(block, left)
            f.write(os.urandom(n))
            left -= n
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - start


def resident(path: Path) -> str:
    fincore = shutil.which("fincore")
    if not fincore:
        return "unknown (no fincore)"
    try:
        out = subprocess.run(
            [fincore, "-b", "-n", "-o", "RES", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        res = int(out[0])
    except (subprocess.CalledProcessError, ValueError, IndexError):
        return "unknown"
    return f"{res / path.stat().st_size:.1%}"


def files_equal(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x = fa.read(1 << 20)
            if x != fb.read(1 << 20):
                return False
            if not x:
                return True


# --- the measured operations: (src, dst) -> None -------------------------------------------


BATCH = BATCH_CHUNKS  # chunks per read and write, as crypto/_stream.py moves them


def _batches(fin: io.BufferedIOBase, size: int) -> Iterator[memoryview]:
    buffer = bytearray(size)
    view = memoryview(buffer)
    while True:
        filled = 0
        while filled < size and (got := fin.readinto(view[filled:])):
            filled += got
        if not filled:
            return
        yield view[:filled]


def make_ceiling(key: bytes) -> tuple[Callable[[Path, Path], None], Callable[[Path, Path], None]]:
    """The raw AEAD through PyNaCl (libsodium), a batch per read and write syscall."""
    encrypt = bindings.crypto_aead_chacha20poly1305_ietf_encrypt
    decrypt = bindings.crypto_aead_chacha20poly1305_ietf_decrypt

    def run(src: Path, dst: Path, step: Callable[..., bytes], chunk: int) -> None:
        # PyNaCl takes only bytes: a batch-sized file buffer hands out each chunk as one.
        counter = 0
        with open(src, "rb", buffering=BATCH * chunk) as fin, open(dst, "wb") as fout:
            pieces = []
            while piece := fin.read(chunk):
                pieces.append(step(piece, None, counter.to_bytes(12, "big"), key))
                counter += 1
                if len(pieces) == BATCH:
                    fout.write(b"".join(pieces))
                    pieces = []
            fout.write(b"".join(pieces))

    def seal(src: Path, dst: Path) -> None:
        run(src, dst, encrypt, CHUNK)

    def open_(src: Path, dst: Path) -> None:
        run(src, dst, decrypt, CHUNK + TAG)

    return seal, open_


def make_pyca_ceiling(key: bytes) -> tuple[Callable[[Path, Path], None], Callable[[Path, Path], None]]:
    """The raw AEAD through pyca `cryptography` (OpenSSL), as crypto/_primitives.py calls it:
    encrypt_into/decrypt_into one reused buffer, a batch per read and write."""
    aead = ChaCha20Poly1305(key)

    def run(src: Path, dst: Path, sealing: bool) -> None:
        chunk, grow = (CHUNK, TAG) if sealing else (CHUNK + TAG, -TAG)
        step = aead.encrypt_into if sealing else aead.decrypt_into
        out = memoryview(bytearray(BATCH * (CHUNK + TAG)))
        counter = 0
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            for batch in _batches(fin, BATCH * chunk):
                end = 0
                for start in range(0, len(batch), chunk):
                    piece = batch[start : start + chunk]
                    step(counter.to_bytes(12, "big"), piece, None, out[end : end + len(piece) + grow])
                    end += len(piece) + grow
                    counter += 1
                fout.write(out[:end])

    def seal(src: Path, dst: Path) -> None:
        run(src, dst, True)

    def open_(src: Path, dst: Path) -> None:
        run(src, dst, False)

    return seal, open_


def header_cost(runs: int) -> None:
    """Print what a hybrid stanza adds to sealing and opening one envelope, against X25519."""
    hybrid, classic = crypto.HybridIdentity.generate(), crypto.X25519Identity.generate()
    median: dict[str, float] = {}
    sizes = {}
    for name, identity in (("hybrid", hybrid), ("X25519", classic)):
        seals, opens = [], []
        for _ in range(runs):
            start = time.perf_counter()
            envelope = crypto.seal_bytes(b"x", [identity.recipient])
            seals.append(time.perf_counter() - start)
            start = time.perf_counter()
            crypto.open_bytes(envelope, [identity])
            opens.append(time.perf_counter() - start)
        median[f"{name} seal"] = statistics.median(seals) * 1000
        median[f"{name} open"] = statistics.median(opens) * 1000
        sizes[name] = len(envelope) - 1 - 16 - 16  # header only: minus plaintext, nonce, tag
    print(f"\n=== hybrid header cost per envelope, median of {runs} one-byte envelopes ===")
    print(f"machine load: {load()}")
    for step in ("seal", "open"):
        extra = median[f"hybrid {step}"] - median[f"X25519 {step}"]
        print(
            f"{step}: hybrid {median[f'hybrid {step}']:.3f} ms, X25519 {median[f'X25519 {step}']:.3f} ms, "
            f"the hybrid stanza adds {extra:.3f} ms -> < {TARGET_HEADER_MS:.0f} ms: "
            f"{met(extra < TARGET_HEADER_MS)}"
        )
    print(f"header bytes: hybrid {sizes['hybrid']}, X25519 {sizes['X25519']}")


OVERLAPPED: list[bool] = []  # per tamga run: whether it could write on a second thread


@contextmanager
def one_thread(on: bool) -> Iterator[None]:
    """With `on`, crypto's streams run as on a busy machine: no write-behind thread."""
    if not on:
        yield
        return
    saved = overlap.second_core_idle
    overlap.second_core_idle = lambda: False
    try:
        yield
    finally:
        overlap.second_core_idle = saved


def make_tamga(
    identity: crypto.X25519Identity, single: bool = False
) -> tuple[Callable[[Path, Path], None], Callable[[Path, Path], None]]:
    """seal_stream and open_stream as they choose (`single`: forced onto one thread)."""
    recipients = [identity.recipient]
    identities = [identity]

    def streamed(call: Callable[[BinaryIO, BinaryIO], object]) -> Callable[[Path, Path], None]:
        def run(src: Path, dst: Path) -> None:
            with one_thread(single):
                if not single:
                    OVERLAPPED.append(overlap.second_core_idle())
                with open(src, "rb") as fin, open(dst, "wb") as fout:
                    call(fin, fout)

        return run

    seal = streamed(lambda fin, fout: crypto.seal_stream(fin, fout, recipients))
    open_ = streamed(lambda fin, fout: crypto.open_stream(fin, fout, identities))
    return seal, open_


def make_age(
    recipient: str, key_file: Path
) -> tuple[Callable[[Path, Path], None], Callable[[Path, Path], None]]:
    def seal(src: Path, dst: Path) -> None:
        subprocess.run([AGE, "-r", recipient, "-o", str(dst), str(src)], check=True)

    def open_(src: Path, dst: Path) -> None:
        subprocess.run([AGE, "-d", "-i", str(key_file), "-o", str(dst), str(src)], check=True)

    return seal, open_


def make_cli(
    recipient: str, key_file: Path
) -> tuple[Callable[[Path, Path], None], Callable[[Path, Path], None]]:
    tamga = [sys.executable, "-m", "crypto"]

    def seal(src: Path, dst: Path) -> None:
        subprocess.run([*tamga, "seal", "-r", recipient, "-o", str(dst), str(src)], check=True, cwd=REPO)

    def open_(src: Path, dst: Path) -> None:
        subprocess.run(
            [*tamga, "open", "-i", str(key_file), "-o", str(dst), str(src)],
            check=True,
            cwd=REPO,
            stderr=subprocess.DEVNULL,  # its warning that the bench's key file has no passphrase
        )

    return seal, open_


def round_robin(names: list[_Name], rounds: int) -> Iterator[_Name]:
    """Each name once per round, the order rotated every round, so that a slow spell of the
    machine or disk is shared."""
    for number in range(rounds):
        turn = number % len(names)
        yield from names[turn:] + names[:turn]


def timed(
    op: Callable[[Path, Path], None], src: Path, dst: Path, settle: float
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + sys) and user seconds of one run, this process and its
    children. The user part is the program's own work; sys is mostly the kernel copying the bytes
    into and out of the page cache, the same for every contestant and, at 4 GiB on this VM, half
    of the run and twice as costly in one run as in the next (perf: copy_folio_from_iter_atomic)."""
    sync()
    time.sleep(settle)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    op(src, dst)
    wall = time.perf_counter() - start
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = sum(b.ru_utime - a.ru_utime for a, b in ((r0, r1), (c0, c1)))
    cpu = user + sum(b.ru_stime - a.ru_stime for a, b in ((r0, r1), (c0, c1)))
    return wall, cpu, user


def rss_child(mode: str, key_file: Path, src: Path, dst: Path) -> dict[str, int]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-m", CHILD, mode, str(key_file), str(src), str(dst)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
    ).stdout
    result: dict[str, int] = json.loads(out)
    return result


def load() -> str:
    one, five, _ = os.getloadavg()
    text = f"loadavg {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"
    some = proc.cpu_pressure()
    if some and len(some) > 2:
        text += f", CPU pressure {some[1]} {some[2]}"
    return text


def bench_size(
    size: int, rounds: int, settle: float, work: Path, identity: crypto.X25519Identity, key_file: Path
) -> dict[str, dict[str, int]]:
    label = size_label(size)
    plain = work / "input.bin"
    print(f"\n=== {label} ({size} bytes), {rounds} timed round(s), MB = 10^6 bytes ===", flush=True)
    took = make_input(plain, size)
    read_through(plain)
    print(f"input: os.urandom, written + fsync in {took:.1f} s; resident in page cache: {resident(plain)}")
    print(f"machine load before the runs: {load()}")
    handed_back = proc.memory_handed_back()
    refaulted = proc.file_refaults()

    aead_key = os.urandom(32)  # one key: the two bindings write the same chunks, each opens the other's
    pairs = {
        "ceiling": make_ceiling(aead_key),
        "pyca": make_pyca_ceiling(aead_key),
        "tamga": make_tamga(identity),
        "single": make_tamga(identity, single=True),
        "age": make_age(str(identity.recipient), key_file),
        "cli": make_cli(str(identity.recipient), key_file),
    }
    times: dict[str, list[float]] = {f"{name} {step}": [] for name in pairs for step in ("seal", "open")}
    cpus: dict[str, list[float]] = {key: [] for key in times}
    users: dict[str, list[float]] = {key: [] for key in times}
    scratch = work / "scratch.out"
    # The files every timed open reads, made by the warm-up: age opens tamga's envelope (it is an
    # age v1 file), so only two are kept and the warm-up also checks that age reads what we write.
    sealed = {"ceiling": work / "ceiling.sealed", "tamga": work / "tamga.sealed"}
    sealed["pyca"] = sealed["ceiling"]
    sealed["age"] = sealed["cli"] = sealed["single"] = sealed["tamga"]
    kept = ("ceiling", "tamga")

    # Warm-up, untimed: each contestant seals and opens once.
    roundtrip_ok = True
    for name, (seal, _) in pairs.items():
        seal(plain, sealed[name] if name in kept else scratch)
        if name not in kept:
            scratch.unlink()
    sync()
    for name, (_, open_) in pairs.items():
        open_(sealed[name], scratch)
        if not files_equal(plain, scratch):
            roundtrip_ok = False
        scratch.unlink()
    print("  warm-up done", flush=True)
    OVERLAPPED.clear()  # count the timed runs only

    # Timed rounds, round-robin, the contestants' order rotated every round.
    for number, name in enumerate(round_robin(list(pairs), rounds), 1):
        seal, open_ = pairs[name]
        for step, op, src in (("seal", seal, plain), ("open", open_, sealed[name])):
            wall, cpu, user = timed(op, src, scratch, settle)
            times[f"{name} {step}"].append(wall)
            cpus[f"{name} {step}"].append(cpu)
            users[f"{name} {step}"].append(user)
            if step == "open" and scratch.stat().st_size != size:
                roundtrip_ok = False
            scratch.unlink()
        if number % len(pairs) == 0:
            print(f"  round {number // len(pairs)}/{rounds} done", flush=True)
    sealed["ceiling"].unlink()
    sealed["tamga"].unlink()

    threaded = sum(OVERLAPPED)
    print(
        f"tamga runs that could write on a second thread (a core idle at their start): "
        f"{threaded} of {len(OVERLAPPED)}"
    )
    OVERLAPPED.clear()
    rate = {key: size / statistics.median(v) / MB for key, v in times.items()}
    best = {key: size / min(v) / MB for key, v in times.items()}
    cpu_rate = {key: size / statistics.median(v) / MB for key, v in cpus.items()}
    names = {
        "ceiling seal": "ceiling encrypt (raw PyNaCl)",
        "ceiling open": "ceiling decrypt (raw PyNaCl)",
        "pyca seal": "ceiling encrypt (raw pyca)",
        "pyca open": "ceiling decrypt (raw pyca)",
        "tamga seal": "tamga seal_stream",
        "tamga open": "tamga open_stream",
        "single seal": "tamga seal_stream, 1 thread",
        "single open": "tamga open_stream, 1 thread",
        "age seal": "age CLI seal",
        "age open": "age CLI open",
        "cli seal": "tamga CLI seal (+ fsync)",
        "cli open": "tamga CLI open (+ fsync)",
    }
    print(f"machine load after the runs: {load()}")
    if handed_back is not None:
        during = (proc.memory_handed_back() or handed_back) - handed_back
        print(
            f"free memory this VM handed back to its host during the runs (page reporting): "
            f"{during / MB:.0f} MB; touched again, each page costs the host's fault (docs/crypto-speed.md)"
        )
    if refaulted is not None:
        again = (proc.file_refaults() or refaulted) - refaulted
        print(
            f"file pages read back after their eviction during the runs (workingset_refault_file): "
            f"{again / MB:.0f} MB"
        )
    heads = f"{'wall MB/s':>10}{'best':>8}{'CPU s':>7}{'user s':>7}{'CPU MB/s':>10}"
    print(f"{'':30}{heads}   wall s of each run")
    print(f"{'':30}{'(median)':>10}{'wall':>8}{'(med.)':>7}{'(med.)':>7}{'':>10}")
    for key, title in names.items():
        runs = " ".join(f"{t:.2f}" for t in times[key])
        cpu, user = statistics.median(cpus[key]), statistics.median(users[key])
        figures = f"{rate[key]:10.1f}{best[key]:8.1f}{cpu:7.2f}{user:7.2f}{cpu_rate[key]:10.1f}"
        print(f"{title:30}{figures}   {runs}")

    def pct(key: str, of: str) -> tuple[float, float]:
        """Tamga's wall rate as it chose, its CPU rate on one thread, as fractions of `of`'s."""
        single = key.replace("tamga", "single")
        return rate[key] / rate[of], cpu_rate[single] / cpu_rate[of]

    seal_w, seal_c = pct("tamga seal", "ceiling seal")
    open_w, open_c = pct("tamga open", "ceiling seal")
    open_dw, open_dc = pct("tamga open", "ceiling open")
    print(f"tamga seal = {seal_w:.1%} of the ceiling (encrypt) by wall, {seal_c:.1%} by CPU")
    for step in ("seal", "open"):
        wall, cpu = pct(f"tamga {step}", f"pyca {step}")
        print(
            f"tamga {step} = {wall:.1%} of the raw pyca {step} (what crypto/ calls) by wall, {cpu:.1%} by CPU"
        )
    print(
        f"tamga open = {open_w:.1%} of the ceiling (encrypt) by wall, {open_c:.1%} by CPU; "
        f"of the decrypt ceiling: {open_dw:.1%} by wall, {open_dc:.1%} by CPU"
    )
    verdict = "ok" if roundtrip_ok else "MISMATCH"
    print(f"round trip (bytes of each warm-up open, incl. age opening tamga's envelope; sizes): {verdict}")
    print(
        "targets (wall = median wall MB/s, Tamga as it chose; CPU = MB per CPU second, Tamga on one "
        "thread, as on a busy machine):"
    )
    for step, w, c in (("seal", seal_w, seal_c), ("open", open_w, open_c)):
        print(
            f"  {step} >= 70% of ceiling: wall {w:.1%} -> {met(w >= TARGET_RATIO)}; "
            f"CPU {c:.1%} -> {met(c >= TARGET_RATIO)}"
        )
    for step in ("seal", "open"):
        ours, single, theirs = f"tamga {step}", f"single {step}", f"age {step}"
        print(
            f"  {step} faster than age CLI: wall {rate[ours]:.1f} vs {rate[theirs]:.1f} MB/s -> "
            f"{met(rate[ours] > rate[theirs])}; CPU, on 1 thread {cpu_rate[single]:.1f} vs "
            f"{cpu_rate[theirs]:.1f} -> {met(cpu_rate[single] > cpu_rate[theirs])} "
            f"(as it chose: {cpu_rate[ours]:.1f}, information)"
        )
    for step in ("seal", "open"):
        # Paired by round: the two ran minutes apart at most, so a state of the VM that lasts
        # longer (docs/crypto-speed.md) weighs on both; medians over all rounds mix states.
        ours_each, theirs_each = times[f"tamga {step}"], times[f"age {step}"]
        wins = sum(o < t for o, t in zip(ours_each, theirs_each, strict=True))
        ratio = statistics.median(t / o for o, t in zip(ours_each, theirs_each, strict=True))
        print(
            f"  (information) {step}, round by round: Tamga faster than age CLI in {wins} of "
            f"{len(ours_each)} rounds; median of age's wall / Tamga's in one round: {ratio:.2f}"
        )
    for step in ("seal", "open"):
        ours, theirs = f"cli {step}", f"age {step}"
        print(
            f"  (information) tamga CLI {step}, its fsync included, against age CLI's: wall "
            f"{rate[ours]:.1f} vs {rate[theirs]:.1f} MB/s; CPU {cpu_rate[ours]:.1f} vs {cpu_rate[theirs]:.1f}"
        )

    # Peak RSS, each in a fresh child process.
    rss_sealed = work / "rss.sealed"
    rss_opened = work / "rss.opened"
    rss = {"seal": rss_child("seal", key_file, plain, rss_sealed)}
    sync()
    rss["open"] = rss_child("open", key_file, rss_sealed, rss_opened)
    rss_sealed.unlink()
    rss_opened.unlink()
    plain.unlink()
    sync()
    for mode, r_ in rss.items():
        peak = r_["peak"] / MB
        print(
            f"peak RSS tamga {mode} ({label}): {peak:.1f} MB (baseline after imports "
            f"{r_['baseline'] / MB:.1f} MB) -> < 64 MB: {met(peak < TARGET_RSS_MB)}"
        )
    return rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", default="1G,4G", help="comma-separated sizes, e.g. 1G,4G or 64M")
    parser.add_argument("--dir", type=Path, default=None, help="parent of the temp dir (same disk)")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each measurement")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds to wait after sync, per run")
    parser.add_argument("--quick", action="store_true", help="smoke run: --sizes 64M, small import")
    parser.add_argument("--header-runs", type=int, default=200, help="envelopes per header measurement")
    parser.add_argument("--import-size", default="1G", help="plaintext of the import benchmark; 0 skips it")
    parser.add_argument("--import-rounds", type=int, default=3, help="rounds of the import benchmark")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in ("64M" if args.quick else args.sizes).split(",") if s.strip()]
    parent = args.dir if args.dir is not None else REPO.parent

    need = 4 * max(sizes) + (256 << 20)
    free = shutil.disk_usage(parent).free
    if free < need:
        print(f"not enough space in {parent}: {free / MB:.0f} MB free, {need / MB:.0f} MB needed")
        return 2

    age_version = subprocess.run([AGE, "--version"], capture_output=True, text=True).stdout.strip()
    cpu = proc.cpu_model() or "?"
    print("Tamga seal/open benchmark")
    print(
        f"python {sys.version.split()[0]}, PyNaCl {__import__('nacl').__version__}, "
        f"cryptography {__import__('cryptography').__version__}, age {age_version}, "
        f"CPU {cpu} x{os.cpu_count()}"
    )
    labels = ", ".join(size_label(s) for s in sizes)
    print(f"chunk 64 KiB, rounds {args.rounds}, settle {args.settle} s, sizes {labels}")

    work = Path(tempfile.mkdtemp(prefix="tamga-bench-", dir=parent))
    print(f"temp dir: {work}")
    try:
        identity = crypto.X25519Identity.generate()
        key_file = work / "key.txt"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(identity.to_text() + "\n")
        header_cost(args.header_runs)
        peaks = {size: bench_size(size, args.rounds, args.settle, work, identity, key_file) for size in sizes}
        import_size = 64 << 20 if args.quick else parse_size(args.import_size)
        if import_size:
            print(f"\n=== station import, {size_label(import_size)} in 16 files (bench/review.py) ===")
            print(f"machine load: {load()}")
            (work / "import").mkdir()
            import_bench(work / "import", import_size, 16, 1 if args.quick else args.import_rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(f"\n=== peak RSS growth, {size_label(large)} - {size_label(small)} ===")
        for mode in ("seal", "open"):
            a = peaks[small][mode]["peak"] / MB
            b = peaks[large][mode]["peak"] / MB
            print(
                f"tamga {mode}: {a:.1f} -> {b:.1f} MB, difference {b - a:+.2f} MB"
                f" -> within 4 MB: {met(abs(b - a) <= TARGET_RSS_GROWTH_MB)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
