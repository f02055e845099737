"""Intake benchmark: the real gunicorn intake against a bare endpoint, and pages under slow uploads.

Run from the repository root (as root, so that the workers' peak RSS can be reset between phases):

    .venv/bin/python bench/intake.py            # 1 GiB, 3 rounds, 60 s of landing pages, 50 slow uploads
    .venv/bin/python bench/intake.py --quick    # smoke run: 64 MiB, 1 round, 10 s, 10 slow uploads

It prints numbers only; each target is printed beside its figure as "met" / "NOT met", never asserted.
MB means 10^6 bytes everywhere. Everything listens on 127.0.0.1 (ports 18000-18999) and lives in a
temporary directory under /tmp (the same disk as the repository; --dir to choose), removed at the end.

(a) sealed: `tamga-intake serve` (deploy/gunicorn.conf.py settings: gthread, 4 workers x 64 threads)
    on a fresh data directory. A source gets a codename (POST /codename) and a CSRF token, then one
    multipart POST /submit (CSRF token, empty message, one file part) of SIZE bytes of random data,
    written with Content-Length over a raw loopback socket in 1 MiB sendall()s. The clock runs from
    connect() until the response's status line (the server has sealed, fsynced, renamed and
    committed by then). MB/s = file bytes / seconds.
(b) bare: the same gunicorn settings (`-c python:submission.gunicorn_settings`, same workers and
    threads) serving bench/children/bare.py: werkzeug's get_input_stream + MultipartDecoder read in the
    same steps as submission/receiver.py (READ_SIZE), file data written unsealed to a file in the
    same directory tree through the same buffered writer (SEALED_WRITE_BUFFER), fsynced and
    renamed. No Flask, session, CSRF, database or sealing. Same body, same client.
    (a) and (b) alternate for --rounds rounds, with `sync` (untimed) before each run; the median is
    the headline. Worker CPU: utime + stime of the workers (/proc/PID/stat) over each run; on a
    machine shared with other work, MB per worker CPU-second is the comparison that does not depend
    on the load. Worker RSS: before each run every worker's VmHWM is reset (`5` into
    /proc/PID/clear_refs) and VmRSS is sampled every 50 ms; the peak printed is the largest VmHWM of
    any worker after the run (it covers what the 50 ms sampling could miss).
(c) landing page: GET / on a fresh connection with no cookie (a first visit: the page's CSRF token
    creates a server-side session row), one request every 50 ms, for --seconds idle, then again
    for --seconds while --slow uploads are in flight. The slow uploads run in a child process (so
    their pacing does not share the prober's interpreter): each is a real submission (one
    source's session and token) with a 1 GiB Content-Length, sending 5 KB every 100 ms (50 KB/s,
    like Tor); an upload the server answers early (503, ...) is counted and reopened. They are all
    cut off at the end (the server must then abort them and remove their *.part files).
(d) one codename derivation (crypto.codename.derive_reply_identity, Argon2id 64 MiB) in a fresh
    child process, --derivations times: wall time, and VmHWM against the VmRSS after imports.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import proc  # noqa: E402 (after the path is set)
from bench.sizes import parse_size, size_label  # noqa: E402
from bench.verdict import met  # noqa: E402
from tests.support.live import free_port, running_intake, stop  # noqa: E402
from tests.support.visitor import Visitor, new_boundary, part_header  # noqa: E402

MB = 10**6
MiB = 1 << 20
GiB = 1 << 30
HOST = "127.0.0.1"

TARGET_RATIO = 0.80
TARGET_RSS_MB = 100.0
TARGET_P99_MS = 200.0
TARGET_P99_VS_IDLE = 2.0
PROBE_INTERVAL = 0.05
SLOW_RATE = 50_000  # bytes per second per slow upload
SLOW_TICK = 0.1


# --- helpers --------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class RssWatch:
    """Reset the workers' VmHWM, sample their VmRSS every 50 ms, report the peaks."""

    def __init__(self, workers: Callable[[], list[int]]) -> None:
        self.workers = workers
        self.reset_ok = True
        self.sampled: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for pid in self.workers():
                rss = proc.status("VmRSS", pid) or 0
                self.sampled[pid] = max(self.sampled.get(pid, 0), rss)

    def __enter__(self) -> "RssWatch":
        for pid in self.workers():
            if not proc.reset_peak(pid):
                self.reset_ok = False
            self.sampled[pid] = proc.status("VmRSS", pid) or 0
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.hwm = {pid: proc.status("VmHWM", pid) or 0 for pid in self.workers()}

    @property
    def peak(self) -> int:
        values = list(self.sampled.values())
        if self.reset_ok:
            values += list(self.hwm.values())
        return max(values or [0])

    def describe(self) -> str:
        how = "VmHWM after reset" if self.reset_ok else "sampled VmRSS only (VmHWM could not be reset)"
        per_worker = ", ".join(f"{v / MB:.1f}" for v in sorted(self.hwm.values(), reverse=True))
        return f"{self.peak / MB:.1f} MB ({how}; per worker VmHWM: {per_worker} MB)"


def request_head(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def submission_body(token: str, size: int) -> tuple[str, bytes, bytes, int]:
    """(content type, what precedes the file data, what follows it, whole length)."""
    boundary = new_boundary()
    head = (
        part_header(boundary, "csrf_token")
        + token.encode()
        + b"\r\n"
        + part_header(boundary, "message")
        + b"\r\n"
        + part_header(boundary, "files", "VID_20240310_0815.mp4", "video/mp4")
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", head, tail, len(head) + size + len(tail)


def read_status(sock: socket.socket) -> int:
    with sock.makefile("rb") as f:
        line = f.readline(1024)
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 else 0


def timed_upload(port: int, cookie: str, token: str, size: int, data: bytes) -> tuple[float, int]:
    """Seconds from connect() to the response's status line, and the status."""
    content_type, head, tail, length = submission_body(token, size)
    headers = {"Cookie": cookie, "Content-Type": content_type, "Content-Length": str(length)}
    view = memoryview(data)
    start = time.perf_counter()
    with socket.create_connection((HOST, port), timeout=600) as sock:
        sock.sendall(request_head(port, "/submit", headers) + head)
        left = size
        while left:
            n = min(left, MiB)
            offset = (size - left) % (len(data) - MiB)
            sock.sendall(view[offset : offset + n])
            left -= n
        sock.sendall(tail)
        status = read_status(sock)
    return time.perf_counter() - start, status


def open_parts(pids: list[int], directory: Path) -> dict[int, int]:
    """How many *.part files in `directory` each process holds open (uploads being sealed)."""
    return {
        pid: sum(t.startswith(str(directory)) and t.endswith(".part") for t in proc.open_files(pid))
        for pid in pids
    }


def machine_load() -> str:
    some = proc.cpu_pressure()
    pressure = ", CPU pressure " + some[1] if some else ""
    return f"load average {' '.join(proc.load_average())}{pressure}"


def parts(directory: Path) -> int:
    return len(list(directory.glob("*.part")))


def clear_directory(directory: Path) -> None:
    for path in directory.iterdir():
        path.unlink()


# --- (c) landing page -----------------------------------------------------------------------


def probe_landing(port: int, seconds: float) -> tuple[list[float], Counter[int]]:
    """GET / every 50 ms on a fresh connection without cookies; latencies in ms."""
    import http.client

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    end = time.monotonic() + seconds
    next_at = time.monotonic()
    while time.monotonic() < end:
        start = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.request("GET", "/", headers={"Host": f"{HOST}:{port}"})
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
        except OSError:
            statuses[0] += 1
        finally:
            conn.close()
        latencies.append((time.perf_counter() - start) * 1000)
        next_at += PROBE_INTERVAL
        time.sleep(max(0.0, next_at - time.monotonic()))
    return latencies, statuses


async def _slow_one(
    port: int, head: bytes, stop: "multiprocessing.synchronize.Event", stats: Counter[str], delay: float
) -> None:
    block = os.urandom(int(SLOW_RATE * SLOW_TICK))
    await asyncio.sleep(delay)
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            stats["connect failed"] += 1
            await asyncio.sleep(1)
            continue
        answer = asyncio.ensure_future(reader.read(64))
        try:
            writer.write(head)
            await writer.drain()
            stats["opened"] += 1
            while not stop.is_set() and not answer.done():
                await asyncio.sleep(SLOW_TICK)
                writer.write(block)
                await writer.drain()
                stats["bytes"] += len(block)
            if answer.done() and not answer.cancelled():
                words = (answer.result() or b"closed").split()
                stats[f"answered early: {words[1].decode() if len(words) > 1 else 'closed'}"] += 1
        except OSError:
            stats["connection lost"] += 1
        finally:
            answer.cancel()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _slow_all(port: int, head: bytes, count: int, stop, ready) -> Counter[str]:  # type: ignore[no-untyped-def]
    stats: Counter[str] = Counter()
    tasks = [
        asyncio.ensure_future(_slow_one(port, head, stop, stats, i * 1.0 / max(count, 1)))
        for i in range(count)
    ]
    await asyncio.sleep(1.5)
    ready.set()
    await asyncio.gather(*tasks)
    return stats


def slow_uploads_child(port: int, head: bytes, count: int, stop, ready, results) -> None:  # type: ignore[no-untyped-def]
    results.put(dict(asyncio.run(_slow_all(port, head, count, stop, ready))))


# --- (d) codename derivation -----------------------------------------------------------------

DERIVE_CHILD = "bench.children.derive"  # run with `python -m`


def derivations(count: int) -> list[dict[str, float]]:
    results = []
    for _ in range(count):
        out = subprocess.run(
            [sys.executable, "-m", DERIVE_CHILD], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
        results.append(json.loads(out))
    return results


# --- the run --------------------------------------------------------------------------------


@contextlib.contextmanager
def bare_server(base: Path, data_dir: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    out_dir = base / "bare-store"
    out_dir.mkdir()
    tmpdir = base / "bare-tmp"
    tmpdir.mkdir()
    env = dict(
        os.environ, TAMGA_DATA_DIR=str(data_dir), TAMGA_BENCH_BARE_DIR=str(out_dir), TMPDIR=str(tmpdir)
    )
    port = free_port()
    with open(base / "bare.log", "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--chdir",
                str(REPO),
                "-c",
                "python:submission.gunicorn_settings",
                "--bind",
                f"{HOST}:{port}",
                "bench.children.bare:app",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not (_answers_bare(port) and proc.children(process.pid)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bare endpoint did not start: " + (base / "bare.log").read_text())
            time.sleep(0.1)
        yield port, process, out_dir
    finally:
        stop(process)


def _answers_bare(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
            return read_status(sock) == 200
    except OSError:
        return False


def run(args: argparse.Namespace) -> None:
    size = args.size
    print(f"Tamga intake benchmark ({'quick' if args.quick else 'full'}), {time.strftime('%Y-%m-%d')}")
    print(
        f"machine: {os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()};"
        f" gunicorn gthread, TAMGA_WORKERS={os.environ.get('TAMGA_WORKERS', '4')},"
        f" TAMGA_THREADS={os.environ.get('TAMGA_THREADS', '64')}"
    )
    base = Path(tempfile.mkdtemp(prefix="tamga-bench-intake-", dir=args.dir))
    print(f"work dir: {base} ({shutil.disk_usage(base).free / 1e9:.0f} GB free)")
    print(f"at start: {machine_load()} (other processes on this machine share its CPUs and disk)")
    data = os.urandom(16 * MiB)
    try:
        with running_intake(base / "sealed") as intake, bare_server(base, intake.data_dir) as bare:
            bare_port, bare_process, bare_dir = bare
            bare_pid = bare_process.pid
            visitor = Visitor(intake)
            visitor.new_source()
            token = visitor.submit_token()
            cookie = visitor.cookie_header()
            lifetime = {pid: proc.status("VmHWM", pid) for pid in intake.worker_pids()}
            print(
                "sealed workers' VmHWM before the runs (includes the codename derivation's 64 MiB): "
                + ", ".join(f"{(v or 0) / MB:.1f} MB" for v in lifetime.values())
            )

            # (a) and (b)
            print(f"\n(a) sealed upload vs (b) bare endpoint: {size_label(size)}, {args.rounds} round(s)")
            rates: dict[str, list[float]] = {"sealed": [], "bare": []}
            cpu_rates: dict[str, list[float]] = {"sealed": [], "bare": []}
            peaks: dict[str, list[int]] = {"sealed": [], "bare": []}
            for round_ in range(1, args.rounds + 1):
                for name in ("sealed", "bare"):
                    port = intake.port if name == "sealed" else bare_port
                    workers = intake.worker_pids if name == "sealed" else lambda: proc.children(bare_pid)
                    os.sync()
                    time.sleep(args.settle)
                    cpu_before = proc.cpu_seconds(workers())
                    with RssWatch(workers) as watch:
                        seconds, status = timed_upload(port, cookie, token, size, data)
                    cpu = proc.cpu_seconds(workers()) - cpu_before
                    rate = size / seconds / MB
                    rates[name].append(rate)
                    cpu_rates[name].append(size / cpu / MB)
                    peaks[name].append(watch.peak)
                    print(
                        f"  round {round_} {name:6}: {seconds:6.2f} s {rate:7.1f} MB/s  status {status}"
                        f"  worker CPU {cpu:5.2f} s ({size / cpu / MB:5.0f} MB per CPU-second)"
                        f"  worker peak RSS {watch.describe()}"
                    )
                    if status != 303:
                        print(f"  ! {name} upload answered {status}, not 303")
                    clear_directory(bare_dir)
                    if name == "sealed":  # keep the disk from filling over the rounds
                        for path in intake.store_dir.glob("*.age"):
                            if path.stat().st_size > MiB:
                                path.unlink()
            sealed, bare_rate = statistics.median(rates["sealed"]), statistics.median(rates["bare"])
            ratio = sealed / bare_rate
            sealed_peak = max(peaks["sealed"]) / MB
            print(
                f"  median: sealed {sealed:.1f} MB/s, bare {bare_rate:.1f} MB/s"
                f" (best: sealed {max(rates['sealed']):.1f}, bare {max(rates['bare']):.1f})"
            )
            print(f"  sealed >= 80% of bare: {ratio:.1%} -> {met(ratio >= TARGET_RATIO)}")
            cpu_sealed = statistics.median(cpu_rates["sealed"])
            cpu_bare = statistics.median(cpu_rates["bare"])
            print(
                f"  worker CPU per GB (load-independent): sealed {1000 / cpu_sealed:.2f} s/GB,"
                f" bare {1000 / cpu_bare:.2f} s/GB; so with a CPU to itself a worker seals at most"
                f" {cpu_sealed:.0f} MB/s, {cpu_sealed / cpu_bare:.1%} of the bare endpoint's"
                f" {cpu_bare:.0f} MB/s"
            )
            print(
                f"  sealed worker peak RSS during the upload: {sealed_peak:.1f} MB (bare:"
                f" {max(peaks['bare']) / MB:.1f} MB) -> < 100 MB: {met(sealed_peak < TARGET_RSS_MB)}"
            )

            # (c)
            print(f"\n(c) landing page GET /, one request every {PROBE_INTERVAL * 1000:.0f} ms")
            os.sync()
            time.sleep(args.settle)
            idle, idle_status = probe_landing(intake.port, args.seconds)
            idle_p50, idle_p99 = percentile(idle, 50), percentile(idle, 99)
            print(
                f"  idle, {args.seconds:.0f} s: n={len(idle)} p50 {idle_p50:.1f} ms p99 {idle_p99:.1f} ms"
                f" max {max(idle):.1f} ms statuses {dict(idle_status)}"
            )
            content_type, head, _tail, _length = submission_body(token, GiB)
            headers = {"Cookie": cookie, "Content-Type": content_type, "Content-Length": str(_length)}
            slow_head = request_head(intake.port, "/submit", headers) + head
            context = multiprocessing.get_context("fork")
            stop_event, ready, results = context.Event(), context.Event(), context.Queue()
            child = context.Process(
                target=slow_uploads_child,
                args=(intake.port, slow_head, args.slow, stop_event, ready, results),
            )
            before_slow = {pid: proc.status("VmRSS", pid) or 0 for pid in intake.worker_pids()}
            child.start()
            try:
                ready.wait(60)
                deadline = time.monotonic() + 20  # the server reads a little before it sees the file part
                while time.monotonic() < deadline and parts(intake.store_dir) < 2 * args.slow:
                    time.sleep(0.2)
                in_flight_before = parts(intake.store_dir) // 2
                with RssWatch(intake.worker_pids) as watch:
                    loaded, loaded_status = probe_landing(intake.port, args.seconds)
                    per_worker = open_parts(intake.worker_pids(), intake.store_dir)
                in_flight_after = parts(intake.store_dir) // 2
            finally:
                stop_event.set()
                child.join(30)
                stats = results.get(timeout=5) if not results.empty() else {}
                if child.is_alive():
                    child.kill()
                    child.join()
            loaded_p50, loaded_p99 = percentile(loaded, 50), percentile(loaded, 99)
            print(
                f"  with {args.slow} slow uploads ({SLOW_RATE / 1000:.0f} KB/s each; sealing in flight:"
                f" {in_flight_before} at start, {in_flight_after} at end), {args.seconds:.0f} s:"
                f" n={len(loaded)} p50 {loaded_p50:.1f} ms p99 {loaded_p99:.1f} ms max {max(loaded):.1f} ms"
                f" statuses {dict(loaded_status)}"
            )
            sent = stats.pop("bytes", 0)
            print(f"  slow uploads: {stats}, {sent / MB:.1f} MB sent in all")
            print(f"  worker peak RSS during the slow uploads: {watch.describe()}")
            for pid, open_count in sorted(per_worker.items(), key=lambda item: -item[1]):
                count = open_count // 2  # each upload holds its metadata and content *.part open
                hwm = watch.hwm.get(pid, 0)
                extra = (hwm - before_slow.get(pid, 0)) / MB
                each = f", {extra / count:.1f} MB per upload" if count else ""
                print(
                    f"    worker {pid}: {count} uploads being sealed, VmHWM {hwm / MB:.1f} MB,"
                    f" {extra:+.1f} MB over its VmRSS before the slow uploads{each}"
                )
            print(f"  landing p99 < 200 ms: {loaded_p99:.1f} ms -> {met(loaded_p99 < TARGET_P99_MS)}")
            print(
                f"  landing p99 < 2x idle p99 ({TARGET_P99_VS_IDLE * idle_p99:.1f} ms):"
                f" {loaded_p99 / idle_p99:.2f}x -> {met(loaded_p99 < TARGET_P99_VS_IDLE * idle_p99)}"
            )
            print(
                f"  worker RSS < 100 MB during the slow uploads: {watch.peak / MB:.1f} MB"
                f" -> {met(watch.peak / MB < TARGET_RSS_MB)}"
            )
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and list(intake.store_dir.glob("*.part")):
                time.sleep(0.2)
            leftovers = parts(intake.store_dir)
            print(f"  *.part files left after the slow uploads were cut off: {leftovers}")

        # (d)
        print(f"\n(d) codename derivation (Argon2id, 64 MiB), {args.derivations} fresh process(es)")
        runs = derivations(args.derivations)
        times = [r["seconds"] for r in runs]
        peak = max(r["peak"] for r in runs)
        baseline = statistics.median(r["baseline"] for r in runs)
        print(
            f"  time: median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f},"
            f" max {max(times) * 1000:.0f}); peak RSS {peak / MB:.1f} MB (after imports"
            f" {baseline / MB:.1f} MB, +{(peak - baseline) / MB:.1f} MB)"
        )
        print(f"\nat end: {machine_load()}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=None, help="upload size (default 1G; quick 64M)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of (a)+(b) (default 3; quick 1)")
    parser.add_argument("--seconds", type=float, default=None, help="landing probe seconds (60; quick 10)")
    parser.add_argument("--slow", type=int, default=None, help="slow uploads (default 50; quick 10)")
    parser.add_argument("--derivations", type=int, default=3, help="codename derivations (default 3)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds to wait after sync, per run")
    parser.add_argument("--dir", type=Path, default=None, help="parent of the work dir (default /tmp)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 64 MiB, 1 round, 10 s, 10 slow")
    args = parser.parse_args()
    quick = args.quick
    args.size = args.size or (64 * MiB if quick else GiB)
    args.rounds = args.rounds or (1 if quick else 3)
    args.seconds = args.seconds or (10.0 if quick else 60.0)
    args.slow = args.slow or (10 if quick else 50)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
