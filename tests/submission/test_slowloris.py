"""Request heads that trickle in ("slowloris") hold no thread: real gunicorn, real sockets.

gunicorn's gthread gives a connection a thread as soon as it has bytes, and the thread then waits
for the rest of the head without a deadline. submission/worker.py reads heads in the event loop.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import HOST, LiveIntake, running_intake
from tests.support.visitor import Visitor

THREADS = 4
SLOW_CONNECTIONS = 40  # ten times the threads
PARTIAL_HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"


class Trickle:
    """Connections that each send part of a head, then one more header line every `pace` seconds."""

    def __init__(self, intake: LiveIntake, count: int, pace: float, keep_alive_first: bool) -> None:
        self.sockets: list[socket.socket] = []
        for index in range(count):
            sock = socket.create_connection((HOST, intake.port), timeout=10)
            if keep_alive_first and index % 2:  # half of them get a first answer, then stall
                sock.sendall(f"GET /robots.txt HTTP/1.1\r\nHost: {intake.host_header}\r\n\r\n".encode())
                assert b" 200 " in sock.recv(65536)
            sock.sendall(PARTIAL_HEAD)
            self.sockets.append(sock)
        self.pace = pace
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        line = 0
        while not self.stopped.wait(self.pace):
            line += 1
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(f"X-Slow-{line}: {'a' * 20}\r\n".encode())

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(10)
        for sock in self.sockets:
            sock.close()


@pytest.fixture(scope="module")
def small_intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("slowloris"), workers=1, threads=THREADS) as intake:
        yield intake


@pytest.mark.parametrize("keep_alive_first", [False, True], ids=["new", "kept-alive"])
def test_pages_are_served_while_heads_trickle_in(small_intake: LiveIntake, keep_alive_first: bool) -> None:
    trickle = Trickle(small_intake, SLOW_CONNECTIONS, pace=1.0, keep_alive_first=keep_alive_first)
    try:
        time.sleep(2.5)  # every slow connection has sent more than its first line
        visitor = Visitor(small_intake, timeout=10)
        statuses = [visitor.get("/").status for _ in range(8)]
        codename = Visitor(small_intake, timeout=30).new_source()
    finally:
        trickle.close()
    assert statuses == [200] * 8
    assert len(codename.split()) >= 7


def _closed_within(sock: socket.socket, seconds: float, keep_sending: bool) -> bool:
    """True if the server closes the connection before `seconds` pass (we keep trickling)."""
    deadline = time.monotonic() + seconds
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            pass
        except OSError:
            return True
        if keep_sending:
            try:
                sock.sendall(b"X-More: b\r\n")
            except OSError:
                return True
    return False


def test_a_head_that_never_ends_is_closed_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMGA_HEAD_SECONDS", "2")
    with running_intake(tmp_path, workers=1, threads=THREADS) as intake:
        trickling = socket.create_connection((HOST, intake.port), timeout=10)
        silent = socket.create_connection((HOST, intake.port), timeout=10)
        try:
            trickling.sendall(PARTIAL_HEAD)
            assert _closed_within(trickling, 15, keep_sending=True)
            assert _closed_within(silent, 15, keep_sending=False)
        finally:
            trickling.close()
            silent.close()
        assert Visitor(intake, timeout=10).get("/").status == 200
        assert "Traceback" not in intake.log()


def test_a_head_and_body_sent_in_pieces_still_arrive_whole(small_intake: LiveIntake) -> None:
    """The bytes the event loop read go back through gunicorn's parser: nothing lost, nothing doubled."""
    visitor = Visitor(small_intake, timeout=30)
    landing = visitor.get("/")
    assert landing.status == 200
    sock = socket.create_connection((HOST, small_intake.port), timeout=30)
    try:
        head = (
            f"GET /robots.txt HTTP/1.1\r\nHost: {small_intake.host_header}\r\n\r\n"
            f"GET /robots.txt HTTP/1.1\r\nHost: {small_intake.host_header}\r\nConnection: close\r\n\r\n"
        ).encode()
        for start in range(0, len(head), 7):  # pipelined, in small pieces
            sock.sendall(head[start : start + 7])
            time.sleep(0.01)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    finally:
        sock.close()
    assert received.count(b"HTTP/1.1 200 OK") == 2
