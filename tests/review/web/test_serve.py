"""`tamga-review serve` as a real process: one line with the address, loopback only, the audit hook on.

The server runs in a child process (the hook cannot be removed once installed, so never in the
test's own process); the test talks to it over loopback from outside.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.review.web.conftest import Evidence

REPO = Path(__file__).resolve().parents[3]
PYTHON = sys.executable  # before sandbox_of_this_tree points sys.executable at its stand-in
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{43})")


def child_env() -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": os.environ.get("HOME", "/")}


def tamga_review() -> str:
    return f"import sys; sys.executable = {sys.executable!r}; from review.cli import main; main()"


@contextmanager
def serving(station: Path) -> Iterator[tuple[int, str, subprocess.Popen[str]]]:
    """`tamga-review --station STATION serve` running: (port, token, process).

    It is review.cli.main, as the `tamga-review` script runs it, with the sandbox worker of this
    tree (sys.executable as sandbox_of_this_tree set it)."""
    with child(tamga_review(), "--station", str(station), "serve") as (line, process):
        match = URL.fullmatch(line.strip())
        assert match, f"not one address line: {line!r}"
        yield int(match.group(1)), match.group(2), process


@contextmanager
def child(code: str, *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -c code args` running: the first line it printed, and the process (ended afterwards)."""
    with subprocess.Popen(
        [PYTHON, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline()
            assert line, process.stderr.read()
            yield line, process
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def served(web_evidence: Evidence) -> Iterator[tuple[int, str, subprocess.Popen[str]]]:
    with serving(web_evidence.station.root) as running:
        yield running


def get(port: int, path: str, host: str | None = None, cookie: str | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_serve_prints_one_address_and_admits_its_token_once(served: tuple[int, str, object]) -> None:
    port, token, _ = served
    assert get(port, "/").status == 403
    assert get(port, f"/?token={token}", host=f"evil.example:{port}").status == 403  # DNS rebinding
    admitted = get(port, f"/?token={token}")
    assert admitted.status == 303 and admitted.getheader("Location") == "/unlock"
    cookie = admitted.getheader("Set-Cookie") or ""
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    session = cookie.split(";", 1)[0]
    assert get(port, "/unlock", cookie=session).status == 200
    assert get(port, "/unlock", host=f"localhost:{port}", cookie=session).status == 200
    assert get(port, f"/?token={token}").status == 403  # spent


def test_serve_listens_on_loopback_only(served: tuple[int, str, object]) -> None:
    port, _, _ = served
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
    local = [line.split()[1] for line in listening if line.split()[3] == "0A"]  # LISTEN
    assert f"0100007F:{port:04X}" in local
    assert not [a for a in local if a.endswith(f":{port:04X}") and a != f"0100007F:{port:04X}"]


def test_serve_refuses_a_port_in_use(served: tuple[int, str, object], web_evidence: Evidence) -> None:
    port, _, _ = served
    result = subprocess.run(
        [
            PYTHON,
            "-c",
            tamga_review(),
            "--station",
            str(web_evidence.station.root),
            "serve",
            "--port",
            str(port),
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"Error: cannot listen on 127.0.0.1:{port}"


def test_serve_refuses_what_is_not_a_station(tmp_path: Path) -> None:
    result = subprocess.run(
        [PYTHON, "-c", tamga_review(), "--station", str(tmp_path), "serve"],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    assert result.returncode == 1 and "is not a station" in result.stderr


GUARDED = textwrap.dedent(
    """
    import json, socket, threading
    from review import netguard
    from review.station import Station
    from review.web import Settings, create_app
    from review.web.server import make_server

    netguard.forbid_network()
    server = make_server(0, lambda port: create_app(Station({station!r}), Settings(port)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    found = {{"port": server.port}}

    def attempt(name, action):
        try:
            action()
            found[name] = "allowed"
        except PermissionError:
            found[name] = "refused"

    attempt("connect-elsewhere", lambda: socket.create_connection(("192.0.2.1", 80), timeout=1))
    attempt("connect-to-itself", lambda: socket.create_connection(("127.0.0.1", server.port), timeout=1))
    def listen_everywhere():
        with netguard.loopback_listener():
            socket.socket().bind(("0.0.0.0", 0))
    attempt("bind-everywhere", listen_everywhere)
    def resolve_elsewhere():
        with netguard.loopback_listener():
            socket.getaddrinfo("example.org", 80)
    attempt("resolve-elsewhere", resolve_elsewhere)
    def connect_while_listening():
        with netguard.loopback_listener():
            s = socket.socket()
            s.connect(("127.0.0.1", server.port))
    attempt("connect-while-listening", connect_while_listening)
    def accept_outside():
        with netguard.accepting():
            socket.create_connection(("127.0.0.1", server.port), timeout=1)
    attempt("connect-while-accepting", accept_outside)
    print(json.dumps(found), flush=True)
    input()
    """
)


def test_the_hook_allows_the_loopback_listener_and_nothing_else(web_evidence: Evidence) -> None:
    code = GUARDED.format(station=str(web_evidence.station.root))
    with child(code) as (line, _):
        found = json.loads(line)
        assert {k: v for k, v in found.items() if k != "port"} == {
            "connect-elsewhere": "refused",
            "connect-to-itself": "refused",
            "bind-everywhere": "refused",
            "resolve-elsewhere": "refused",
            "connect-while-listening": "refused",
            "connect-while-accepting": "refused",
        }
        # ... while the server, under the same hook, still accepts and answers over loopback.
        assert get(found["port"], "/").status == 403
