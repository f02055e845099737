"""A real intake for end-to-end tests: `tamga-intake init` + `tamga-intake serve` (gunicorn).

Test modules build their own fixture on `running_intake()` (or use tests/submission/conftest.py's
`live_intake`) and talk to the server with tests/support/visitor.py's `Visitor`, a small
cookie-keeping HTTP client on http.client (no third-party HTTP library). gunicorn's workers are
found with bench/proc.py.

    with running_intake(tmp_path) as intake:          # LiveIntake
        visitor = Visitor(intake)
        codename = visitor.new_source()               # landing page -> "Get a codename"
        token = visitor.submit_token()                # CSRF token of the submit form
        content_type, body = multipart(token, message="...", files=[("a.jpg", "image/jpeg", data)])
        response = visitor.request("POST", "/submit", body, {"Content-Type": content_type})

Everything is loopback only; ports come from 18000-18999.
"""

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.proc import children
from crypto import X25519Identity, open_bytes

HOST = "127.0.0.1"
PORTS = range(18000, 19000)
BIN_DIR = Path(sys.executable).parent
TAMGA_INTAKE = BIN_DIR / "tamga-intake"
START_TIMEOUT = 30.0


def free_port() -> int:
    """A port in 18000-18999 that nothing listens on right now."""
    ports = list(PORTS)
    random.shuffle(ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18000-18999")


@dataclass
class Opened:
    """A submission as the reviewers will see it: the message, and (name, type, bytes) per file."""

    message: str | None
    files: list[tuple[str, str, bytes]]


@dataclass
class LiveIntake:
    """A running `tamga-intake serve`."""

    base_url: str
    port: int
    data_dir: Path
    reviewer: X25519Identity
    tmpdir: Path  # the TMPDIR the server runs with
    pid: int  # gunicorn's master (tamga-intake serve execs into it)
    log_path: Path  # the server's stdout and stderr
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def host_header(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def database(self) -> Path:
        return self.data_dir / "intake.sqlite"

    def worker_pids(self) -> list[int]:
        return children(self.pid)

    def server_pids(self) -> list[int]:
        return [self.pid, *self.worker_pids()]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Read the intake's SQLite database (WAL: readers do not block the server)."""
        db = sqlite3.connect(self.database, timeout=10)
        try:
            return db.execute(sql, parameters).fetchall()
        finally:
            db.close()

    def submission_count(self) -> int:
        return int(self.query("SELECT count(*) FROM submissions")[0][0])  # type: ignore[call-overload]

    def stored_names(self) -> set[str]:
        return {p.name for p in self.store_dir.iterdir()}

    def open_envelope(self, storage_name: str) -> bytes:
        return open_bytes((self.store_dir / storage_name).read_bytes(), [self.reviewer])

    def opened_submission(self, submission_id: str) -> Opened:
        """Open one submission's envelopes with the reviewer's identity."""
        rows = self.query(
            "SELECT item, kind, storage_name FROM envelopes WHERE submission_id = ? ORDER BY item, kind",
            (submission_id,),
        )
        message = None
        metadata: dict[int, dict[str, str]] = {}
        contents: dict[int, bytes] = {}
        for item, kind, name in rows:
            plaintext = self.open_envelope(str(name))
            if kind == "message":
                message = plaintext.decode("utf-8")
            elif kind == "file-metadata":
                metadata[int(item)] = json.loads(plaintext)  # type: ignore[call-overload]
            elif kind == "file-content":
                contents[int(item)] = plaintext  # type: ignore[call-overload]
        assert set(metadata) == set(contents), "a file's content and metadata envelopes do not pair up"
        files = [(metadata[i]["name"], metadata[i]["type"], contents[i]) for i in sorted(contents)]
        return Opened(message, files)


def _server_env(tmpdir: Path, workers: int | None, threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TAMGA_DATABASE_URL", None)  # always the data directory's own SQLite here
    env.update(TMPDIR=str(tmpdir), TMP=str(tmpdir), TEMP=str(tmpdir), PYTHONUNBUFFERED="1")
    if workers is not None:
        env["TAMGA_WORKERS"] = str(workers)
    if threads is not None:
        env["TAMGA_THREADS"] = str(threads)
    return env


def init_data_dir(data_dir: Path, reviewer: X25519Identity, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(TAMGA_INTAKE), "init", "--data-dir", str(data_dir), "--recipient", str(reviewer.recipient)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tamga-intake init failed ({done.returncode}): {done.stderr.strip()}")


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/robots.txt")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM gunicorn's master, then SIGKILL it and any worker left behind."""
    workers = children(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    for pid in workers:  # our own processes, by id
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _start(data_dir: Path, env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    for _attempt in range(5):
        port = free_port()
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [str(TAMGA_INTAKE), "serve", "--data-dir", str(data_dir), "--bind", f"{HOST}:{port}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break  # e.g. someone took the port in between: try another one
            if _answers(port) and children(process.pid):
                return process, port
            time.sleep(0.1)
        stop(process)
    raise RuntimeError(f"tamga-intake serve did not start; its log:\n{log_path.read_text(errors='replace')}")


@contextlib.contextmanager
def running_intake(
    base: Path,
    *,
    workers: int | None = None,
    threads: int | None = None,
    limits: dict[str, int] | None = None,
) -> Iterator[LiveIntake]:
    """Init a data directory under `base` for a fresh reviewer identity, serve it, stop it afterwards.

    `base` gets data/ (the data directory), tmp/ (the server's TMPDIR) and server.log.
    `limits` are written into config.json (see submission.settings.Limits).
    """
    base.mkdir(parents=True, exist_ok=True)
    data_dir, tmpdir, log_path = base / "data", base / "tmp", base / "server.log"
    tmpdir.mkdir(mode=0o700)
    reviewer = X25519Identity.generate()
    env = _server_env(tmpdir, workers, threads)
    init_data_dir(data_dir, reviewer, env)
    if limits:
        config_path = data_dir / "config.json"
        config = json.loads(config_path.read_text())
        config["limits"] = {**config.get("limits", {}), **limits}
        config_path.write_text(json.dumps(config, indent=2) + "\n")
    process, port = _start(data_dir, env, log_path)
    try:
        yield LiveIntake(
            base_url=f"http://{HOST}:{port}",
            port=port,
            data_dir=data_dir,
            reviewer=reviewer,
            tmpdir=tmpdir,
            pid=process.pid,
            log_path=log_path,
            process=process,
        )
    finally:
        stop(process)
