"""Import throughput and memory of the review station, beside the floor of copying and hashing.

Run from the repository root:

    .venv/bin/python bench/review.py                  # 1 GiB of envelopes, 3 rounds
    .venv/bin/python bench/review.py --size 4G --rounds 1 --dir /work
    .venv/bin/python bench/review.py --quick          # 64 MiB smoke run

It prints numbers only; the targets (import at >= 60% of the floor's MB/s, peak RSS < 100 MB) are
printed beside them as "met" / "NOT met", never asserted. MB means 10^6 bytes everywhere.

Setup (untimed), in a temporary directory under --dir (default: the repository's parent, the same
disk), removed at the end, also on error or Ctrl-C (unless --keep):

* a station made by `tamga-review init` (real passphrase, scrypt 2^18) and an intake data dir
  (submission.datadir.create_data_dir) sealing to it, its key pinned with `tamga-review
  trust-server`;
* `--files` files of random bytes (os.urandom) totalling --size, each sealed with crypto.Sealer
  straight into the intake's store (submission.store.EnvelopeStore) with its metadata envelope,
  plus one message, and the database rows the intake app would write (one source, one
  submission): what `tamga-intake export` then reads. Plaintext SHA-256s are kept for the check;
* `tamga-intake export` twice: first with nothing new (an empty bundle, sequence 1), then the
  whole lot in one bundle (sequence 2). Both are timed and printed for information.

Each round (--rounds, the median is the headline, the best is printed too):

Before each child: os.sync() and a 1 s pause, so that no run starts amid the writeback of another.
The CPU time of each child (user + system, from os.wait4) is printed too: on a shared machine it
varies less than wall time.

* floor: a fresh child process (`python -m bench.children.floor`) reads each envelope file of the
  intake's store, writes a copy to a new directory on the same disk, hashes it with hashlib.sha256
  in the same pass and fsyncs it (the station fsyncs every envelope it stages too); the copies are
  removed afterwards;
* import: a fresh copy of the just-initialised station (so each round imports for real), then
  `tamga-review import EMPTY` (the fixed cost: interpreter start, imports, unlocking the two key
  files with scrypt, the catalogue) and `tamga-review import BUNDLE`, each a child process timed
  from spawn to exit. "import MB/s" is bundle bytes / wall time of the real import; "net" removes
  the fixed cost measured just before it. The ratio to the floor uses the real (not net) figure,
  though the floor's own time starts after its interpreter did; the net ratio is printed beside it.

Peak RSS, from /proc/self/status of the process itself (ru_maxrss of a child is no use here: Linux
carries the parent's RSS at spawn into it): the floor child prints its VmHWM; after the rounds, one
more import on a fresh station copy runs `tamga-review` in-process under a small observer
(`python -m bench.children.observed_import`) that prints VmHWM at exit and the peak VmRSS sampled
every 5 ms after the keys are unlocked. The two differ by design: unlocking the identity with
scrypt at work factor 2^18 (as `age -p` does) needs 256 MiB for the duration of the derivation,
then frees it.

Warm cache: the store was just written and the bundle is read through once after its export
(which writes it past the page cache, crypto/direct.py), and the machine is not asked to drop its
page cache, so both floor and import read from RAM when it is large enough. Both fsync every file
to the same disk: the floor writes through the page cache, as a plain copy does; the import writes
its staged copies direct, as the station does. The random plaintext is not media, so no media
probe runs.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.sizes import parse_size  # noqa: E402 (after the path is set)
from bench.verdict import met  # noqa: E402
from crypto import Sealer, X25519Identity, parse_recipient, seal_bytes  # noqa: E402
from submission.datadir import create_data_dir  # noqa: E402
from submission.db import make_engine, make_session_factory  # noqa: E402
from submission.models import Envelope, Source, Submission  # noqa: E402
from submission.settings import load_settings, load_signing_key  # noqa: E402
from submission.store import EnvelopeStore  # noqa: E402

MB = 10**6
MiB = 1 << 20
PASSPHRASE = "benchmark passphrase, not a secret"  # noqa: S105
TARGET_RATIO = 0.60  # issue 15
TARGET_RSS_MB = 100.0
SETTLE = 1.0  # seconds of pause after a sync before each child, so none starts amid writeback
BIN = Path(sys.executable).parent

FLOOR = "bench.children.floor"  # the child programs, run with `python -m`
OBSERVED = "bench.children.observed_import"


def command(name: str) -> list[str]:
    script = BIN / name
    if script.exists():
        return [str(script)]
    module = {"tamga-review": "review.cli", "tamga-intake": "submission.cli"}[name]
    return [sys.executable, "-c", f"from {module} import main; main()"]


@dataclass
class Run:
    seconds: float
    cpu: float  # user + system seconds of the child (and of any child it waited for)
    stdout: str
    stderr: str
    returncode: int


def run_child(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run a child to completion, after a sync and a pause; wall time from spawn to exit, CPU time."""
    os.sync()
    time.sleep(SETTLE)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return Run(seconds, cpu, out.read().decode(), err.read().decode(), proc.returncode)


def checked(run: Run, what: str) -> Run:
    if run.returncode != 0:
        sys.exit(f"{what} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return run


def review_env() -> dict[str, str]:
    env = {**os.environ, "TAMGA_PASSPHRASE": PASSPHRASE, "TAMGA_ACTOR": "bench"}
    env.pop("TAMGA_STATION", None)
    return env


def review(station: Path, *args: str | Path) -> Run:
    return run_child([*command("tamga-review"), "--station", str(station), *map(str, args)], review_env())


def observed_import(station: Path, bundle: Path, report: Path) -> dict[str, int]:
    args = [sys.executable, "-m", OBSERVED, str(report), "--station", str(station), "import", str(bundle)]
    checked(run_child(args, review_env()), "observed import")
    return json.loads(report.read_text())


def fill_store(data_dir: Path, size: int, files: int) -> tuple[dict[str, str], int]:
    """Seal `files` random files totalling `size` into the store; return plaintext hashes and bytes."""
    settings = load_settings(data_dir)
    store = EnvelopeStore(settings.store_dir, 0)
    recipients = list(settings.recipients)
    engine = make_engine(settings.database_url)
    hashes: dict[str, str] = {}
    sealed = 0
    try:
        with make_session_factory(engine)() as db:
            reply = X25519Identity.generate().recipient
            source = Source(id=hashlib.sha256(reply.public_key).hexdigest()[:32], reply_recipient=str(reply))
            submission = Submission(source=source)
            message = b"Benchmark: a statement sent with the files."
            envelope = store.new()
            envelope.file.write(seal_bytes(message, recipients))
            envelope.commit()
            hashes["statement"] = hashlib.sha256(message).hexdigest()
            submission.envelopes.append(Envelope(item=0, kind="message", storage_name=envelope.name))
            base, extra = divmod(size, files)
            for item in range(1, files + 1):
                name = f"video-{item:03d}.mp4"
                meta = store.new()
                meta.file.write(
                    seal_bytes(json.dumps({"name": name, "type": "video/mp4"}).encode(), recipients)
                )
                meta.commit()
                submission.envelopes.append(Envelope(item=item, kind="file-metadata", storage_name=meta.name))
                content = store.new()
                sealer = Sealer(content.file, recipients)
                digest = hashlib.sha256()
                left = base + (1 if item <= extra else 0)
                while left:
                    block = os.urandom(min(4 * MiB, left))
                    digest.update(block)
                    sealer.write(block)
                    left -= len(block)
                sealer.close()
                content.commit()
                hashes[name] = digest.hexdigest()
                submission.envelopes.append(
                    Envelope(item=item, kind="file-content", storage_name=content.name)
                )
                print(f"  sealed {item}/{files}", end="\r", file=sys.stderr, flush=True)
            store.fsync_directory()
            db.add(submission)
            db.commit()
    finally:
        engine.dispose()
    for path in store.directory.iterdir():
        sealed += path.stat().st_size
    print(file=sys.stderr)
    return hashes, sealed


def read_through(path: Path) -> None:
    """Read a file once, untimed, so that the runs after read it from the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def mbps(size: int, seconds: float) -> float:
    return size / MB / seconds if seconds > 0 else float("inf")


def bench(root: Path, size: int, files: int, rounds: int) -> None:
    template = root / "station-template"
    intake_dir = root / "intake"

    print(f"setup in {root} ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    checked(review(template, "init"), "tamga-review init")
    recipient = checked(review(template, "pubkey"), "pubkey").stdout.split()[-1]
    create_data_dir(intake_dir, [parse_recipient(recipient)])
    server_key = load_signing_key(load_settings(intake_dir).data_dir).verify_key
    checked(review(template, "trust-server", str(server_key)), "trust-server")

    empty = root / "empty.tar"
    bundle = root / "bundle.tar"
    intake = command("tamga-intake")
    checked(run_child([*intake, "export", "--data-dir", str(intake_dir), "--out", str(empty)]), "export")
    start = time.perf_counter()
    hashes, sealed = fill_store(intake_dir, size, files)
    seal_seconds = time.perf_counter() - start
    export = checked(
        run_child([*intake, "export", "--data-dir", str(intake_dir), "--out", str(bundle)]), "export"
    )
    bundle_size = bundle.stat().st_size
    read_through(bundle)  # into the page cache, as the store is (the docstring)
    envelopes = len(list((intake_dir / "store").iterdir()))
    print(
        f"  {files} files of random bytes, {size / MB:.1f} MB plaintext, sealed in {seal_seconds:.1f} s "
        f"({mbps(size, seal_seconds):.0f} MB/s)"
    )
    print(f"  {envelopes} envelopes, {sealed / MB:.1f} MB sealed; bundle {bundle_size / MB:.1f} MB")
    print(
        f"  tamga-intake export: {export.seconds:.2f} s, {mbps(bundle_size, export.seconds):.0f} MB/s "
        "(hashes every envelope, then copies it)"
    )

    floors: list[dict[str, float]] = []
    imports: list[tuple[Run, Run]] = []
    for number in range(1, rounds + 1):
        copies = root / f"floor-{number}"
        copies.mkdir()
        floor_run = run_child([sys.executable, "-m", FLOOR, str(intake_dir / "store"), str(copies)])
        floor = json.loads(checked(floor_run, "floor").stdout)
        floor["cpu"] = floor_run.cpu
        floors.append(floor)
        shutil.rmtree(copies)
        os.sync()

        station = root / f"station-{number}"
        shutil.copytree(template, station)
        fixed = checked(review(station, "import", empty), "import of the empty bundle")
        real = checked(review(station, "import", bundle), "import")
        imports.append((fixed, real))
        print(
            f"  round {number}: floor {mbps(sealed, floor['seconds']):.0f} MB/s ({floor['seconds']:.2f} s); "
            f"import {mbps(bundle_size, real.seconds):.0f} MB/s ({real.seconds:.2f} s, "
            f"fixed cost {fixed.seconds:.2f} s); CPU s: floor {floor_run.cpu:.2f}, import {real.cpu:.2f}, "
            f"fixed {fixed.cpu:.2f}; load {os.getloadavg()[0]:.1f}"
        )
        if number == rounds:
            check(station, hashes)
            progress = [line for line in real.stderr.splitlines() if "%" in line]
            last = progress[-1].strip() if progress else "-"
            print(f"  progress: {len(progress)} lines on stderr, the last: {last}")
        shutil.rmtree(station)
        os.sync()

    station = root / "station-memory"
    shutil.copytree(template, station)
    checked(review(station, "import", empty), "import of the empty bundle")
    memory = observed_import(station, bundle, root / "memory.json")
    shutil.rmtree(station)

    floor_rate = statistics.median(mbps(sealed, f["seconds"]) for f in floors)
    best_floor = max(mbps(sealed, f["seconds"]) for f in floors)
    import_rate = statistics.median(mbps(bundle_size, r.seconds) for _, r in imports)
    best_import = max(mbps(bundle_size, r.seconds) for _, r in imports)
    fixed_cost = statistics.median(f.seconds for f, _ in imports)
    net = [r.seconds - f.seconds for f, r in imports]
    net_text = f"{mbps(bundle_size, statistics.median(net)):.1f} MB/s" if min(net) > 0 else "n/a (too small)"
    ratio = import_rate / floor_rate
    floor_cpu = statistics.median(f["cpu"] for f in floors)
    import_cpu = statistics.median(r.cpu - f.cpu for f, r in imports)
    floor_peak = max(f["hwm"] for f in floors)
    peak, after_unlock = memory["hwm"], memory["after_unlock"]

    print()
    print(f"results ({rounds} round(s), median; best in brackets), bundle of {bundle_size / MB:.1f} MB")
    print(f"  floor (copy + sha256 + fsync)  {floor_rate:8.1f} MB/s  [{best_floor:.1f}]")
    print(f"  tamga-review import            {import_rate:8.1f} MB/s  [{best_import:.1f}]")
    print(f"  import net of its fixed cost   {net_text}  (fixed cost {fixed_cost:.2f} s: start, unlock)")
    print(
        f"  ratio import / floor           {ratio:8.1%}   target >= {TARGET_RATIO:.0%}: "
        f"{met(ratio >= TARGET_RATIO)}"
    )
    if min(net) > 0:  # the floor's own figure has no process start in it; the import's net neither
        net_ratio = mbps(bundle_size, statistics.median(net)) / floor_rate
        print(f"  ratio net import / floor       {net_ratio:8.1%}   (information; the target is on the real)")
    print(
        f"  CPU per GB: floor {floor_cpu / (sealed / 1e9):.2f} s, import net of fixed cost "
        f"{import_cpu / (bundle_size / 1e9):.2f} s (the machine is shared: wall-time figures vary with load)"
    )
    print(f"  peak RSS, floor                {floor_peak / MB:8.1f} MB")
    print(
        f"  peak RSS, import (VmHWM)       {peak / MB:8.1f} MB   (information: the unlock's scrypt alone "
        "needs 256 MiB; the target is on the line below)"
    )
    print(
        f"  peak RSS, import after unlock  {after_unlock / MB:8.1f} MB   target < {TARGET_RSS_MB:.0f} MB: "
        f"{met(after_unlock / MB < TARGET_RSS_MB)}  (sampled every 5 ms once the keys are open; "
        "the scrypt 2^18 unlock alone needs 256 MiB)"
    )


def check(station: Path, hashes: dict[str, str]) -> None:
    """Print whether the catalogue holds every file and the message with the right SHA-256."""
    listing = json.loads(checked(review(station, "list", "--json"), "list").stdout)
    found = {item["name"] or "statement": item["sha256"] for item in listing}
    statuses = sorted({item["status"] for item in listing})
    print(
        f"  check: {len(listing)} items (expected {len(hashes)}), statuses {statuses}, "
        f"all SHA-256 match: {'yes' if found == hashes else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1G", help="plaintext bytes in all (default 1G)")
    parser.add_argument("--files", type=int, default=16, help="how many files (default 16)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="64 MiB, 4 files, 1 round")
    parser.add_argument("--dir", type=Path, default=REPO.parent, help="where to make the temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    size, files, rounds = parse_size(args.size), args.files, args.rounds
    if args.quick:
        size, files, rounds = 64 * MiB, 4, 1
    root = Path(tempfile.mkdtemp(prefix="tamga-bench-review-", dir=args.dir))
    try:
        bench(root, size, files, rounds)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
