"""Browser-sealing benchmark (issue 12): the submit page's own sealing code in headless Chromium,
with the JIT and without it, its memory from a small to a large file, and the intake's worker CPU
for the tus path beside the no-JS path and a bare endpoint.

Run from the repository root (as root, so that the renderer's peak RSS can be reset):

    PYTHONPATH=$PWD .venv/bin/python bench/browser.py          # 256 MiB sealing, 2 GiB memory, 256 MiB server
    PYTHONPATH=$PWD .venv/bin/python bench/browser.py --quick  # smoke run: 32 MiB, 128 MiB, 32 MiB
    PYTHONPATH=$PWD .venv/bin/python bench/browser.py --only memory  # (2) alone; --only sealing: (1) alone
    PYTHONPATH=$PWD .venv/bin/python bench/browser.py --only memory --middle 1G  # (2) at three sizes

It prints numbers only; each target is printed beside its figure as "met" / "NOT met", never asserted.
MB means 10^6 bytes. Everything lives in a temporary directory under /tmp (--dir to choose).

(1) Sealing: bench/browser_page.js, bundled by esbuild with submission/static/src/ (the seal
    workers, typage and the page's 4 MiB piece reader), on a page of a local static server. A
    file of random bytes is chosen in a file input (as a source does) and sealed to one X25519
    recipient as the page seals it, by its seal workers (one per core, at most 4; the time
    includes starting them); the pieces are counted and handed back to be filled again, as the
    upload's source does once the server has them (no network). MB/s = plaintext /
    wall time. Once with Chromium's defaults (JIT) and once with `--js-flags=--jitless` (Tor
    Browser "Safer"), each beside the page's own thread alone (typage from File.stream(), what
    the page does without workers).
(2) Page memory: the same sealing with the JIT at --size and at --large, each in a new browser
    started the same way; the renderer process's peak RSS (the workers are threads of it): the
    larger of VmHWM (reset before each run) and VmRSS sampled every 50 ms, since the kernel
    updates VmHWM lazily and was seen tens of MB below a sampled VmRSS; and the JS heap's peak
    (performance.memory, sampled: the page's heap, not the workers').
    Flat means the large file's peak within 32 MB of the small one's.
(3) Server: `tamga-intake serve` (gthread). tus: a file sealed beforehand (in this process) is
    uploaded with a Python tus client (tests/support/tus.py) in 4 MiB PATCHes (the page's piece
    size), then committed;
    no-JS: the same size as one multipart POST /submit (bench/intake.py's client), sealed by the
    server; bare: bench/intake.py's bare endpoint (writes the bytes, no sealing). Worker CPU =
    utime + stime of the workers over the run; CPU s per GB and wall MB/s for each, the best of
    --rounds rounds run in turn (on a shared machine, other load only ever adds).
"""

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from urllib3.exceptions import ReadTimeoutError  # noqa: E402

from bench import proc  # noqa: E402 (after the path is set)
from bench.intake import bare_server, timed_upload  # noqa: E402
from bench.sizes import parse_size, size_label  # noqa: E402
from bench.verdict import met  # noqa: E402
from crypto import X25519Identity, seal_bytes  # noqa: E402
from tests.support.browser import chromium  # noqa: E402
from tests.support.live import running_intake  # noqa: E402
from tests.support.tus import TusClient, upload_id, visitor_send  # noqa: E402
from tests.support.visitor import Visitor  # noqa: E402

MB = 1_000_000
MiB = 1 << 20
PIECE = 4 * MiB
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"
TARGET_JIT_MBPS = 50.0
TARGET_JITLESS_MBPS = 1.5
TARGET_FLAT_MB = 32.0
TARGET_CPU_RATIO = 0.40
TARGET_BARE_RATIO = 0.90
PAGE = (
    '<!doctype html><meta charset="utf-8"><title>bench</title>'
    '<input type="file" id="file"><script src="bench.js"></script>'
)
# Started without waiting (one WebDriver command may not block for long), then polled.
SEAL_SCRIPT = (
    "window.benchResult = null;"
    " benchSeal(arguments[0], arguments[1]).then((r) => (window.benchResult = r),"
    " (e) => (window.benchResult = {error: String(e)}))"
)
POLL_SECONDS = 2.0
SAMPLE_SECONDS = 0.05
META = b'{"name": "VID_20240310_0815.mp4", "type": "video/mp4"}'


def build_site(site: Path) -> None:
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    flags = ["--bundle", "--format=iife", "--log-level=warning", f"--outfile={site / 'bench.js'}"]
    subprocess.run([str(ESBUILD), "bench/browser_page.js", *flags], cwd=REPO, check=True)


@contextlib.contextmanager
def static_site(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()


def random_file(path: Path, size: int) -> Path:
    block = os.urandom(16 * MiB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return path


def renderers(root: int) -> list[int]:
    """Chromium's renderer processes under chromedriver `root`."""
    found = []
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(proc.children(pid))
        with contextlib.suppress(OSError):
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


@contextlib.contextmanager
def sampled_peak(pids: list[int]) -> Iterator[list[int]]:
    """The largest VmRSS of any of `pids`, sampled every SAMPLE_SECONDS until the block ends."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_SECONDS):
            peak[0] = max(peak[0], *(proc.status("VmRSS", pid) or 0 for pid in pids))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def seal_in_chromium(
    base: Path, url: str, file: Path, jitless: bool, recipient: str, workers: bool = True
) -> dict[str, float]:
    """The page's sealing of `file`, timed in the page; the renderer's peak RSS added."""
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=base))
    flags = ("--enable-precise-memory-info", *(("--js-flags=--jitless",) if jitless else ()))
    driver = chromium(profile, javascript=True, extra_flags=flags)
    try:
        driver.get(url)
        driver.find_element(By.ID, "file").send_keys(str(file))
        pids = renderers(driver.service.process.pid)  # type: ignore[attr-defined]
        reset = all(proc.reset_peak(pid) for pid in pids)
        with sampled_peak(pids) as sampled:
            driver.execute_script(SEAL_SCRIPT, recipient, workers)
            result: dict[str, float] | None = None
            while result is None:
                time.sleep(POLL_SECONDS)
                # A jitless renderer busy sealing can leave a command unanswered for a minute: ask again.
                with contextlib.suppress(TimeoutException, ReadTimeoutError):
                    result = driver.execute_script("return window.benchResult")
        if "error" in result:
            raise RuntimeError(f"sealing failed in the page: {result['error']}")
        peaks = [proc.status("VmHWM", pid) or 0 for pid in pids]
        result["renderer_peak"] = float(max(*peaks, sampled[0])) if reset and peaks else 0.0
        return result
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def sealing(base: Path, args: argparse.Namespace) -> None:
    recipient = str(X25519Identity.generate().recipient)
    build_site(base / "site")
    small = random_file(base / "small.bin", args.size)
    with static_site(base / "site") as url:
        if args.only != "memory":
            speed(base, url, small, recipient, args)
        if args.only != "sealing":
            memory(base, url, small, recipient, args)


def speed(base: Path, url: str, small: Path, recipient: str, args: argparse.Namespace) -> None:
    print(f"\n(1) sealing {size_label(args.size)} in the page (File -> seal workers -> 4 MiB pieces)")
    jitless_file = small
    if args.jitless_size != args.size:
        jitless_file = random_file(base / "jitless.bin", args.jitless_size)
    for name, jitless, file, size, target in (
        ("JIT", False, small, args.size, TARGET_JIT_MBPS),
        ("jitless", True, jitless_file, args.jitless_size, TARGET_JITLESS_MBPS),
    ):
        pool = seal_in_chromium(base, url, file, jitless, recipient)
        assert pool["bytes"] == pool["sealed"], "every sealed byte came out in pieces"
        alone = seal_in_chromium(base, url, file, jitless, recipient, workers=False)
        rate, alone_rate = size / pool["seconds"] / MB, size / alone["seconds"] / MB
        workers = f"{pool['workers']:.0f} workers"
        print(
            f"  {name + ':':8} {pool['seconds']:7.2f} s {rate:7.2f} MB/s with {workers}"
            f" ({size_label(size)}; >= {target}: {met(rate >= target)});"
            f" page thread alone {alone_rate:.2f} MB/s (load {proc.load_average()[0]})"
        )


def memory(base: Path, url: str, small: Path, recipient: str, args: argparse.Namespace) -> None:
    sizes = [args.size, *([args.middle] if args.middle else []), args.large]
    print(f"\n(2) page memory while sealing (JIT): {' vs '.join(size_label(size) for size in sizes)}")
    figures = []
    for size in sizes:
        file = small if size == args.size else random_file(base / "large.bin", size)
        result = seal_in_chromium(base, url, file, False, recipient)
        assert result["bytes"] == result["sealed"], "every sealed byte came out in pieces"
        if file != small:
            file.unlink()
        figures.append(result)
        print(
            f"  {size_label(size):>8}: renderer peak RSS {result['renderer_peak'] / MB:6.1f} MB,"
            f" JS heap peak {result['heapPeak'] / MB:6.1f} MB (at start {result['heapStart'] / MB:4.1f}),"
            f" {size / result['seconds'] / MB:5.1f} MB/s (load {proc.load_average()[0]})"
        )
    first, big = figures[0], figures[-1]
    growth = (big["renderer_peak"] - first["renderer_peak"]) / MB
    heap = (big["heapPeak"] - first["heapPeak"]) / MB
    ok = met(abs(growth) <= TARGET_FLAT_MB and abs(heap) <= TARGET_FLAT_MB)
    print(f"  growth: renderer {growth:+.1f} MB, JS heap {heap:+.1f} MB (within 32 MB: {ok})")


def server(base: Path, size: int, rounds: int) -> None:
    print(
        f"\n(3) intake worker CPU and MB/s, {size_label(size)}: tus (sealed beforehand) vs no-JS vs bare,"
        f" {rounds} rounds in turn; each path's best round counts (other load only adds)"
    )
    data = os.urandom(16 * MiB)
    figures: dict[str, tuple[float, float]] = {}
    with running_intake(base / "intake") as intake, bare_server(base, intake.data_dir) as bare:
        bare_port, bare_process, _ = bare
        recipients = [intake.reviewer.recipient]
        envelope = seal_bytes((data * (size // len(data) + 1))[:size], recipients)
        meta = seal_bytes(META, recipients)
        visitor = Visitor(intake)
        visitor.new_source()
        token = visitor.submit_token()
        cookie = visitor.cookie_header()
        for name in ("tus", "no-JS", "bare") * rounds:
            workers = (lambda: proc.children(bare_process.pid)) if name == "bare" else intake.worker_pids
            os.sync()
            cpu_before = proc.cpu_seconds(workers())
            start = time.perf_counter()
            if name == "tus":
                client = TusClient(visitor_send(visitor), token)
                ids = [
                    client.upload("file-metadata", 1, meta, PIECE),
                    client.upload("file-content", 1, envelope, PIECE),
                ]
                status = client.commit([upload_id(location) for location in ids]).status
            else:
                _, status = timed_upload(
                    bare_port if name == "bare" else intake.port, cookie, token, size, data
                )
            seconds = time.perf_counter() - start
            cpu = proc.cpu_seconds(workers()) - cpu_before
            best_cpu, best_rate = figures.get(name, (float("inf"), 0.0))
            figures[name] = (min(best_cpu, cpu / (size / 1e9)), max(best_rate, size / seconds / MB))
            print(
                f"  {name:6}: {seconds:6.2f} s {size / seconds / MB:7.1f} MB/s,"
                f" worker CPU {cpu:5.2f} s = {cpu / (size / 1e9):5.2f} s per GB  (status {status})"
            )
            for path in intake.store_dir.glob("*.age"):
                if path.stat().st_size > MiB:
                    path.unlink()
    for name, (cpu_per_gb, rate) in figures.items():
        print(f"  best {name:6}: {cpu_per_gb:5.2f} s per GB, {rate:7.1f} MB/s")
    ratio = figures["tus"][0] / figures["no-JS"][0]
    speed = figures["tus"][1] / figures["bare"][1]
    print(
        f"  tus CPU per GB / no-JS: {ratio:.0%} (<= {TARGET_CPU_RATIO:.0%}: {met(ratio <= TARGET_CPU_RATIO)})"
    )
    print(f"  tus MB/s / bare: {speed:.0%} (>= {TARGET_BARE_RATIO:.0%}: {met(speed >= TARGET_BARE_RATIO)})")


def run(args: argparse.Namespace) -> None:
    print(
        f"Tamga browser-sealing benchmark ({'quick' if args.quick else 'full'}"
        f"{f', {args.only} only' if args.only else ''}), {time.strftime('%Y-%m-%d')}"
    )
    print(f"machine: {os.cpu_count()} CPUs; load average {' '.join(proc.load_average())} (shared)")
    print("(load average again at the end: other sessions share these CPUs)")
    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True, check=False).stdout
    print(f"browser: {version.strip()}, headless")
    base = Path(tempfile.mkdtemp(prefix="tamga-bench-browser-", dir=args.dir))
    try:
        sealing(base, args)
        if args.only is None:
            server(base, args.server_size, args.rounds)
        print(f"\nload average at the end: {' '.join(proc.load_average())}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=parse_size, default=parse_size("256M"), help="sealing file (default 256M)"
    )
    parser.add_argument(
        "--jitless-size", type=parse_size, default=None, help="jitless file (default: --size)"
    )
    parser.add_argument(
        "--large", type=parse_size, default=parse_size("2G"), help="memory comparison (default 2G)"
    )
    parser.add_argument(
        "--middle", type=parse_size, default=None, help="a size measured between the two (default none)"
    )
    parser.add_argument(
        "--server-size", type=parse_size, default=parse_size("256M"), help="server upload (default 256M)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="server rounds (default 3)")
    parser.add_argument(
        "--only", choices=("sealing", "memory"), help="run only (1), sealing MB/s, or only (2), page memory"
    )
    parser.add_argument("--quick", action="store_true", help="32M sealing, 128M memory, 32M server")
    parser.add_argument("--dir", default="/tmp", help="where the temporary directory goes")
    args = parser.parse_args()
    if args.quick:
        args.size, args.large, args.server_size = parse_size("32M"), parse_size("128M"), parse_size("32M")
    if args.jitless_size is None:
        args.jitless_size = args.size
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
