"""Under real gunicorn: its own refusals (bad request line, 414, 431) carry our security headers and a
fixed page, and neither they nor a database that refuses writes leave more than types, code
locations and a day in the server's log.
"""

import socket
import sqlite3
from collections.abc import Iterator

import pytest

from submission.web import SECURITY_HEADERS
from tests.support.live import HOST, LiveIntake, running_intake
from tests.support.logshape import TIME_OF_DAY, bad_lines
from tests.support.visitor import Visitor

MARKER = "SECRET-MARKER-c41d"


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("scrub"), workers=1, threads=8) as server:
        yield server


def raw_exchange(intake: LiveIntake, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; return the status, headers and body of the answer."""
    with socket.create_connection((HOST, intake.port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


HEAD = "GET / HTTP/1.1\r\nHost: {host}\r\n"
REFUSALS = {  # name: (status, request with {host})
    "bad request line": (400, f"GET{MARKER} /\r\nHost: {{host}}\r\n\r\n"),
    "request line too long": (414, f"GET /{MARKER}{'a' * 5000} HTTP/1.1\r\nHost: {{host}}\r\n\r\n"),
    "header field too large": (431, HEAD + f"X-A: {MARKER}{'b' * 9000}\r\n\r\n"),
    "head too large": (431, HEAD + f"X-B: {MARKER}\r\n" * 1000),
    "bare line feeds": (400, f"GET / HTTP/1.1\r\nHost: {{host}}\nX-C: {MARKER}\r\n\r\n"),
}


def refusal(intake: LiveIntake, name: str) -> bytes:
    return REFUSALS[name][1].replace("{host}", intake.host_header).encode()


@pytest.mark.parametrize("name", REFUSALS)
def test_gunicorns_refusals_carry_our_headers_and_no_echo(intake: LiveIntake, name: str) -> None:
    status, headers, body = raw_exchange(intake, refusal(intake, name))
    assert status == REFUSALS[name][0]
    for header, value in SECURITY_HEADERS.items():
        assert headers.get(header) == value, header
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)
    assert MARKER.encode() not in body
    assert b"<!doctype html>" in body


def test_gunicorns_log_holds_only_types_locations_and_the_day(intake: LiveIntake) -> None:
    for name in REFUSALS:
        raw_exchange(intake, refusal(intake, name))
    log = intake.log()
    assert "gunicorn.http.errors.InvalidRequestLine" in log
    assert "gunicorn.http.errors.LimitRequestLine" in log
    assert "gunicorn.http.errors.LimitRequestHeaders" in log
    assert bad_lines(log) == []
    assert not TIME_OF_DAY.search(log)
    for secret in (MARKER, "ip=", HOST, "Invalid request"):
        assert secret not in log


def test_a_locked_database_under_gunicorn_logs_no_sql_parameters(intake: LiveIntake) -> None:
    """Another process holds the write lock: the session INSERT fails after SQLite's busy timeout."""
    locker = sqlite3.connect(intake.database, timeout=10)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        response = Visitor(intake, timeout=60).get("/")
    finally:
        locker.rollback()
        locker.close()
    assert response.status == 500
    for header, value in SECURITY_HEADERS.items():
        assert response.headers.get(header) == value, header
    log = intake.log()
    assert "sqlalchemy.exc.OperationalError" in log
    assert bad_lines(log) == []
    assert not TIME_OF_DAY.search(log)
    for secret in ("csrf", "INSERT", "web_sessions", "parameters", "[GET]", HOST):
        assert secret not in log
    assert Visitor(intake, timeout=30).get("/").status == 200
