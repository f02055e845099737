"""The intake under attack (issue 11): what real sources still get while each cheap attack runs.

Run from the repository root (as root, so that the data directory can live on a small tmpfs):

    .venv/bin/python bench/hostile.py           # each attack for 30 s, at the sizes of issue 11
    .venv/bin/python bench/hostile.py --quick   # smoke run: 8 s each, smaller attacks

It prints numbers only and never fails; targets are printed beside the figures as met / NOT met.
Everything is loopback (127.0.0.1, ports 18000-18999), bounded in time, and removed at the end.

One real `tamga-intake serve` (deploy/gunicorn.conf.py settings: 4 workers x 64 threads, the app's
default limits except the disk reserve) on a fresh data directory on a tmpfs of --disk bytes that
this script mounts and unmounts (a plain temporary directory if it cannot mount one); the reserve
is set so that HEADROOM bytes are free above it. For each phase below, one prober thread walks as
a real source would, in turn and on fresh connections: the landing page (GET /, 200 within 4 s),
a codename (landing, then POST /codename, 200 within 15 s), and a small upload (GET /submit, then
a 20 KB multipart POST /submit of a logged-in source, 303 within 15 s). The share of each that
succeeds is the headline. The phases:
  baseline    no attack.
  stalled     item 1: one session opens --stalled POST /submit with Content-Length 10^9 and sends
              the first line of its body, then nothing.
  slowloris   item 2: --slowloris connections each send a request line, then one header line
              every 10 s (never the end of the head).
  argon2      item 3: 32 threads POST /login with wrong codenames, one cookie and one token.
  boundary    item 4: 8 threads POST /submit with an 8,000-character boundary and a 256 KiB
              preamble, again and again. Also: the time from sending the last byte of a
              71-character-boundary request to its status line (median of 5).
  sessions    item 5b: 4 threads GET / without a cookie as fast as they can (rows counted after).
  disk        item 5: 4 concurrent chunked uploads of 30 MiB each into HEADROOM above the reserve;
              free space is sampled every 20 ms: how many succeeded, and how far past the reserve
              the disk went.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.sizes import parse_size, size_label  # noqa: E402 (after the path is set)
from bench.verdict import met  # noqa: E402
from crypto import X25519Identity  # noqa: E402

HOST = "127.0.0.1"
MiB = 1 << 20
TAMGA_INTAKE = Path(sys.executable).parent / "tamga-intake"
PHASES = ["baseline", "stalled", "slowloris", "argon2", "boundary", "sessions", "disk"]
TARGET_SHARE = 0.90
TARGET_BOUNDARY_MS = 10.0


# --- a small client ---------------------------------------------------------------------------


class Source:
    """A visitor with cookies; each request on a fresh connection, like Tor Browser."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout, self.cookies = port, timeout, {}  # type: ignore[var-annotated]

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            sent = {"Host": f"{HOST}:{self.port}", **(headers or {})}
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for line in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = line.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, text
        finally:
            conn.close()

    def token(self, path: str = "/") -> str:
        status, text = self.request("GET", path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', text)
        if status != 200 or not match:
            raise RuntimeError(f"GET {path}: {status}")
        return match.group(1)

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        body = urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def new_codename(self) -> str:
        status, text = self.post_form("/codename", {"csrf_token": self.token()})
        match = re.search(r'id="codename"[^>]*>([^<]+)<', text)
        if status != 200 or not match:
            raise RuntimeError(f"POST /codename: {status}")
        return match.group(1).strip()


def multipart(
    token: str, data: bytes, boundary: str | None = None, preamble: bytes = b""
) -> tuple[str, bytes]:
    boundary = boundary or "----hostile" + secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n\r\n\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="p.jpg"\r\n'.encode()
        + b"Content-Type: image/jpeg\r\n\r\n"
        + data
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return f"multipart/form-data; boundary={boundary}", preamble + b"".join(parts)


def raw_socket(port: int, timeout: float = 30.0) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=timeout)


def read_status(sock: socket.socket) -> int:
    line = sock.makefile("rb").readline()
    return int(line.split()[1]) if line.startswith(b"HTTP/") else 0


def free_port() -> int:
    for port in random.sample(range(18000, 19000), 1000):
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind((HOST, port))
            return port
    raise RuntimeError("no free port in 18000-18999")


# --- the server -------------------------------------------------------------------------------


class Intake:
    """tamga-intake init + serve on a data directory under `base`."""

    def __init__(self, base: Path, headroom: int | None) -> None:
        """headroom: free bytes to leave above the reserve (None: the default reserve)."""
        self.data_dir, self.log_path = base / "data", base / "server.log"
        env = {**os.environ, "TMPDIR": str(base)}
        env.pop("TAMGA_DATABASE_URL", None)
        recipient = str(X25519Identity.generate().recipient)
        cmd = [str(TAMGA_INTAKE), "init", "--data-dir", str(self.data_dir), "--recipient", recipient]
        subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=120)
        config_path = self.data_dir / "config.json"
        config = json.loads(config_path.read_text())
        if headroom is None:
            self.reserve = config.get("limits", {}).get("disk_reserve_bytes", 1 << 30)
        else:
            self.reserve = max(0, shutil.disk_usage(self.data_dir).free - headroom)
            config["limits"] = {**config.get("limits", {}), "disk_reserve_bytes": self.reserve}
            config_path.write_text(json.dumps(config))
        for _attempt in range(5):
            self.port = free_port()
            self.bind = f"{HOST}:{self.port}"
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [str(TAMGA_INTAKE), "serve", "--data-dir", str(self.data_dir), "--bind", self.bind],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                )  # fmt: skip
            if self._wait_until_up():
                return
            self.stop()
        raise RuntimeError("the intake did not start:\n" + self.log_path.read_text(errors="replace"))

    def _wait_until_up(self) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError, RuntimeError):
                if Source(self.port, 2).request("GET", "/robots.txt")[0] == 200:
                    return True
            time.sleep(0.2)
        return False

    def free(self) -> int:
        return shutil.disk_usage(self.data_dir).free

    def session_rows(self) -> int:
        with contextlib.closing(sqlite3.connect(self.data_dir / "intake.sqlite", timeout=30)) as db:
            return int(db.execute("SELECT count(*) FROM web_sessions").fetchone()[0])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# --- real sources, measured ---------------------------------------------------------------------


class Prober:
    """Landing page, codename, small upload, in turn, until stopped; counts what succeeds."""

    def __init__(self, port: int, uploader: Source) -> None:
        self.port, self.uploader = port, uploader
        self.counts = {name: [0, 0] for name in ("landing", "codename", "upload")}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _try(self, name: str, attempt: Callable[[], bool]) -> None:
        try:
            ok = attempt()
        except (OSError, RuntimeError, http.client.HTTPException):
            ok = False
        self.counts[name][0] += ok
        self.counts[name][1] += 1

    def _upload(self) -> bool:
        content_type, body = multipart(self.uploader.token("/submit"), secrets.token_bytes(20_000))
        return self.uploader.request("POST", "/submit", body, {"Content-Type": content_type})[0] == 303

    def _run(self) -> None:
        while not self.stopped.is_set():
            self._try("landing", lambda: Source(self.port, 4).request("GET", "/")[0] == 200)
            self._try("codename", lambda: len(Source(self.port, 15).new_codename().split()) >= 7)
            self._try("upload", self._upload)

    def __enter__(self) -> "Prober":
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.thread.join(60)


# --- the attacks --------------------------------------------------------------------------------


def stalled_uploads(intake: Intake, count: int, stop: threading.Event) -> str:
    attacker = Source(intake.port, 30)
    attacker.new_codename()  # one logged-in session
    token = attacker.token("/submit")
    socks, answered = [], []
    for _ in range(count):
        with contextlib.suppress(OSError):
            sock = raw_socket(intake.port)
            cookie = "; ".join(f"{k}={v}" for k, v in attacker.cookies.items())
            sock.sendall(
                f"POST /submit HTTP/1.1\r\nHost: {HOST}:{intake.port}\r\nCookie: {cookie}\r\n"
                f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 1000000000\r\n\r\n"
                f'--xyz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token[:8]}'.encode()
            )
            socks.append(sock)
    stop.wait()
    for sock in socks:
        sock.settimeout(0)
        with contextlib.suppress(OSError):
            head = sock.recv(16)
            answered.append(int(head.split()[1]) if head.startswith(b"HTTP/") else 0)
        sock.close()
    return f"{len(socks)} stalled uploads held, answered early: {_tally(answered)}"


def slowloris(intake: Intake, count: int, stop: threading.Event) -> str:
    socks = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            sock = raw_socket(intake.port)
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}:{intake.port}\r\n".encode())
            socks.append(sock)
    line, reopened = 0, 0
    while not stop.wait(10):
        line += 1
        for index, sock in enumerate(socks):
            try:
                sock.sendall(f"X-Slow-{line}: a\r\n".encode())
            except OSError:  # closed by the server at its head deadline: come back, as an attacker would
                sock.close()
                with contextlib.suppress(OSError):
                    socks[index] = raw_socket(intake.port)
                    socks[index].sendall(f"GET / HTTP/1.1\r\nHost: {HOST}:{intake.port}\r\n".encode())
                    reopened += 1
    for sock in socks:
        sock.close()
    return f"{len(socks)} slow heads, one line per 10 s, {reopened} reopened after the server closed them"


def argon2_flood(intake: Intake, threads: int, stop: threading.Event) -> str:
    attacker = Source(intake.port, 30)
    token = attacker.token("/")
    statuses: list[int] = []

    def flood() -> None:
        while not stop.is_set():
            try:
                statuses.append(
                    attacker.post_form("/login", {"csrf_token": token, "codename": "a b c d e f g"})[0]
                )
            except (OSError, http.client.HTTPException):
                statuses.append(0)

    return _run_threads(flood, threads, stop, lambda: f"{len(statuses)} wrong logins ({_tally(statuses)})")


def boundary_cpu(intake: Intake, threads: int, stop: threading.Event) -> str:
    attacker = Source(intake.port, 60)
    attacker.new_codename()  # logged in, so that the form is parsed
    token = attacker.token("/submit")
    boundary = "b" * 8000
    content_type, body = multipart(token, b"x", boundary, preamble=b"p" * (256 * 1024))
    statuses: list[int] = []

    def flood() -> None:
        while not stop.is_set():
            try:
                statuses.append(attacker.request("POST", "/submit", body, {"Content-Type": content_type})[0])
            except (OSError, http.client.HTTPException):
                statuses.append(0)

    return _run_threads(
        flood, threads, stop, lambda: f"{len(statuses)} long-boundary posts ({_tally(statuses)})"
    )


def session_flood(intake: Intake, threads: int, stop: threading.Event) -> str:
    before, made = intake.session_rows(), [0]

    def flood() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError, http.client.HTTPException):
                made[0] += Source(intake.port, 10).request("GET", "/")[0] == 200

    return _run_threads(
        flood,
        threads,
        stop,
        lambda: f"{made[0]} cookieless visits, {intake.session_rows() - before} rows kept",
    )


def disk_flood(intake: Intake, uploaders: list[Source], size: int, stop: threading.Event) -> str:
    lowest, statuses = [intake.free()], []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.02):
            lowest[0] = min(lowest[0], intake.free())

    def upload(source: Source) -> None:
        content_type, body = multipart(source.token("/submit"), b"\0" * size)
        try:
            sock = raw_socket(intake.port, 120)
            cookie = "; ".join(f"{k}={v}" for k, v in source.cookies.items())
            sock.sendall(
                f"POST /submit HTTP/1.1\r\nHost: {HOST}:{intake.port}\r\nCookie: {cookie}\r\n"
                f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            )
            for start in range(0, len(body), MiB):
                piece = body[start : start + MiB]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
            statuses.append(read_status(sock))
            sock.close()
        except OSError:
            statuses.append(0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    workers = [threading.Thread(target=upload, args=(s,), daemon=True) for s in uploaders]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
    sampling.set()
    sampler.join()
    stop.wait()
    overrun = max(0, intake.reserve - lowest[0])
    stored = sum(s == 303 for s in statuses)
    return (
        f"{len(uploaders)} x {size_label(size)} chunked: {stored} stored ({_tally(statuses)}), "
        f"{overrun / MiB:.1f} MiB past the reserve"
    )


def _run_threads(
    target: Callable[[], None], count: int, stop: threading.Event, report: Callable[[], str]
) -> str:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(60)
    return report()


def _tally(statuses: list[int]) -> str:
    counts: dict[int, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(counts.items())) or "none"


def boundary_refusal_ms(intake: Intake) -> tuple[float, list[int]]:
    """Median ms from the request's last byte to its status line, for a 71-character boundary."""
    source = Source(intake.port, 30)
    source.new_codename()
    token = source.token("/submit")
    cookie = "; ".join(f"{k}={v}" for k, v in source.cookies.items())
    content_type, body = multipart(token, b"x", "c" * 71)
    times, statuses = [], []
    for _ in range(5):
        with raw_socket(intake.port) as sock:
            sock.sendall(
                f"POST /submit HTTP/1.1\r\nHost: {HOST}:{intake.port}\r\nCookie: {cookie}\r\n"
                "Connection: close\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            start = time.perf_counter()
            statuses.append(read_status(sock))
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statuses


def run_phase(
    name: str, attack: Callable[[threading.Event], str], intake: Intake, uploader: Source, seconds: float
) -> str:
    """Start the attack, probe for `seconds` while it runs, stop it; one line of figures."""
    stop, result = threading.Event(), [""]

    def attacking() -> None:
        result[0] = attack(stop)

    attacker = threading.Thread(target=attacking, daemon=True)
    attacker.start()
    time.sleep(min(3.0, seconds / 4))  # let the attack take hold
    with Prober(intake.port, uploader) as prober:
        time.sleep(seconds)
    stop.set()
    attacker.join(300)
    cells = []
    for ok, total in prober.counts.values():
        share = ok / total if total else 0.0
        cells.append(f"{ok}/{total} {share:4.0%}{'' if share >= TARGET_SHARE else '!':1}")
    return f"{name:<10} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}  {result[0]}"


# --- the run ------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(size: int):  # type: ignore[no-untyped-def]
    base = Path(tempfile.mkdtemp(prefix="tamga-hostile-"))
    mounted = False
    if os.geteuid() == 0:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(base)]
            ).returncode
            == 0
        )
    try:
        yield base, mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def run_disk_phase(disk: int, headroom: int, seconds: float) -> str:
    """Item 5 on a disk with little room above the reserve; returns the server's log."""
    with small_disk(disk) as (base, mounted):
        intake = Intake(base, headroom)
        try:
            uploader = Source(intake.port, 30)
            uploader.new_codename()
            disk_sources = [Source(intake.port, 30) for _ in range(4)]
            for source in disk_sources:
                source.new_codename()
            flood = partial(disk_flood, intake, disk_sources, 30 * MiB)
            print(run_phase("disk", flood, intake, uploader, seconds), flush=True)
        finally:
            intake.stop()
        where = f"a tmpfs of {size_label(disk)}" if mounted else "a temporary directory (not root: no tmpfs)"
        print(f"(disk: data on {where}, {size_label(headroom)} free above the reserve)")
        return intake.log_path.read_text(errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 s per attack, smaller attacks")
    parser.add_argument("--seconds", type=float, help="length of each phase (30; 8 with --quick)")
    parser.add_argument("--stalled", type=int, help="stalled uploads (180; 60 with --quick)")
    parser.add_argument("--slowloris", type=int, help="slow heads (300; 100 with --quick)")
    parser.add_argument("--disk", type=parse_size, default=parse_size("192M"), help="tmpfs size [192M]")
    parser.add_argument(
        "--headroom", type=parse_size, default=parse_size("56M"), help="free above the reserve [56M]"
    )
    parser.add_argument("--only", nargs="+", choices=PHASES, default=PHASES, help="run these phases only")
    args = parser.parse_args()
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    stalled = args.stalled or (60 if args.quick else 180)
    slow = args.slowloris or (100 if args.quick else 300)

    print(f"each phase {seconds:.0f} s; share of real requests that succeeded (target >= {TARGET_SHARE:.0%})")
    print(f"{'phase':<10} {'landing':>16} {'codename':>16} {'upload':>16}  attack")
    with tempfile.TemporaryDirectory(prefix="tamga-hostile-") as temporary:
        intake = Intake(Path(temporary), None)  # items 1-4 and the session flood: default limits
        try:
            uploader = Source(intake.port, 30)
            uploader.new_codename()
            phases: list[tuple[str, Callable[[threading.Event], str]]] = [
                ("baseline", lambda stop: (stop.wait(), "no attack")[1]),
                ("stalled", lambda stop: stalled_uploads(intake, stalled, stop)),
                ("slowloris", lambda stop: slowloris(intake, slow, stop)),
                ("argon2", lambda stop: argon2_flood(intake, 32, stop)),
                ("boundary", lambda stop: boundary_cpu(intake, 8, stop)),
                ("sessions", lambda stop: session_flood(intake, 4, stop)),
            ]
            for name, attack in phases:
                if name not in args.only:
                    continue
                print(run_phase(name, attack, intake, uploader, seconds), flush=True)
                time.sleep(3)  # let the server let go of what the attack held
            median_ms, statuses = boundary_refusal_ms(intake)
        finally:
            intake.stop()
        lines = [intake.log_path.read_text(errors="replace")]

    if "disk" in args.only:
        lines.append(run_disk_phase(args.disk, args.headroom, seconds))
    print("(! marks a share below the target)")

    refused = all(status == 400 for status in statuses)
    boundary_met = met(refused and median_ms < TARGET_BOUNDARY_MS)
    print(f"\n71-character boundary: statuses {statuses}, median {median_ms:.1f} ms to the status line")
    print(f"  target: refused (400) in < {TARGET_BOUNDARY_MS:.0f} ms: {boundary_met}")
    log = "".join(lines)
    print(f"server logs: {len(log.splitlines())} lines, {log.count('Traceback')} tracebacks")


if __name__ == "__main__":
    main()
