"""A real intake for end-to-end tests: `tamga-intake init` + `tamga-intake serve` (gunicorn), and a client.

Not a test module. Test modules build their own fixture on `running_intake()` (or use the
`live_intake` fixture below by importing it) and talk to the server with `Visitor`, a small
cookie-keeping HTTP client on http.client (no third-party HTTP library).

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
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

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


def children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers of its master)."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found.update(int(word) for word in f.read().split())
    if not found:  # kernels without the children file: scan /proc for the parent id
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            # "pid (comm) state ppid ...": comm may contain spaces and parentheses
            with contextlib.suppress(NameError, IndexError, ValueError):
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry))
    return sorted(found)


def proc_status(pid: int, key: str) -> int | None:
    """A /proc/PID/status field in bytes (VmRSS, VmHWM, ...), None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


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


@pytest.fixture(scope="module")
def live_intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    """One real intake per test module (import this name into the module to use it)."""
    with running_intake(tmp_path_factory.mktemp("live")) as intake:
        yield intake


# --- a client ------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def codename_on(html: str) -> str:
    match = re.search(r'id="codename"[^>]*>([^<]+)<', html)
    assert match, 'the page has no id="codename"'
    return match.group(1).strip()


class Visitor:
    """One visitor with their own cookies; each request on a fresh connection, like Tor Browser."""

    def __init__(self, intake: LiveIntake, timeout: float = 60.0) -> None:
        self.intake = intake
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.intake.port, timeout=self.timeout)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": self.intake.host_header}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        headers.update(extra or {})
        return headers

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def remember_cookies(self, headers: Message) -> None:
        for line in headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        follow: bool = False,
    ) -> Response:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=self.headers(headers))
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            conn.close()
        self.remember_cookies(response.headers)
        if follow and response.status in (301, 302, 303, 307) and response.location:
            location = response.location.removeprefix(self.intake.base_url)
            return self.request("GET", location, follow=True)
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str], follow: bool = False) -> Response:
        body = urlencode(fields).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}, follow=follow
        )

    def new_source(self) -> str:
        """Landing page, then "Get a codename": return the codename shown."""
        landing = self.get("/")
        assert landing.status == 200, landing.status
        page = self.post_form("/codename", {"csrf_token": csrf_token(landing.text)})
        assert page.status == 200, page.text
        return codename_on(page.text)

    def log_in(self, codename: str) -> Response:
        landing = self.get("/")
        return self.post_form(
            "/login", {"csrf_token": csrf_token(landing.text), "codename": codename}, follow=True
        )

    def submit_token(self) -> str:
        page = self.get("/submit")
        assert page.status == 200, page.status
        return csrf_token(page.text)


class RawUpload:
    """A POST written by hand, so that a test can pace it, pause it, or cut it off half-way.

    With content_length=None the body goes out with `Transfer-Encoding: chunked`, each send() one
    chunk framed by hand.
    """

    def __init__(
        self,
        visitor: Visitor,
        content_type: str,
        content_length: int | None,
        path: str = "/submit",
    ) -> None:
        self.chunked = content_length is None
        self.conn = visitor.connection()
        self.conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        headers = visitor.headers({"Content-Type": content_type})
        if content_length is None:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(content_length)
        for name, value in headers.items():
            self.conn.putheader(name, value)
        self.conn.endheaders()
        self.visitor = visitor

    def send(self, data: bytes) -> None:
        if not data:
            return
        if self.chunked:
            self.conn.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.conn.send(data)

    def finish(self) -> Response:
        try:
            if self.chunked:
                self.conn.send(b"0\r\n\r\n")
            raw = self.conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            self.conn.close()
        self.visitor.remember_cookies(response.headers)
        return response

    def abort(self) -> None:
        """Cut the connection, like a Tor circuit that dies."""
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


# --- multipart bodies ----------------------------------------------------------------------


def new_boundary() -> str:
    return "----TamgaTestBoundary" + secrets.token_hex(12)


def part_header(
    boundary: str, name: str, filename: str | None = None, content_type: str | None = None
) -> bytes:
    """One part's opening lines, as a browser writes them (UTF-8 file names, raw)."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    lines = [f"--{boundary}", f"Content-Disposition: {disposition}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def multipart(
    token: str,
    message: str = "",
    files: Sequence[tuple[str, str, bytes]] = (),
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """The submit form's body: CSRF token first, then message, then files [(name, type, data)]."""
    boundary = boundary or new_boundary()
    out = bytearray()
    out += part_header(boundary, "csrf_token") + token.encode() + b"\r\n"
    out += part_header(boundary, "message") + message.encode("utf-8") + b"\r\n"
    for name, content_type, data in files:
        out += part_header(boundary, "files", name, content_type) + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)
