"""A connection closed after its answer lingers in the event loop: real gunicorn, real sockets.

gunicorn's graceful close waits in the worker's event loop, up to 2 s a connection, for the
client to close its end: a few clients that never close stalled every connection of the worker.
Closing at once instead loses the answer to an upload refused mid-body (the kernel's RST).
submission/worker.py half-closes and lingers without waiting.
"""

import socket
from collections.abc import Iterator

import pytest

from tests.support.live import HOST, LiveIntake, running_intake

NEVER_CLOSING = 60  # about two minutes of a stalled event loop at gunicorn's 2 s each


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("linger"), workers=1, threads=4) as intake:
        yield intake


def _request(intake: LiveIntake, head: str) -> socket.socket:
    sock = socket.create_connection((HOST, intake.port), timeout=10)
    sock.sendall(head.format(host=intake.host_header).encode())
    return sock


def _read_answer(sock: socket.socket) -> bytes:
    """Everything up to the server's end of the connection."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def test_clients_that_never_close_do_not_stall_the_worker(one_worker: LiveIntake) -> None:
    close_after = "GET /robots.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    held = [_request(one_worker, close_after) for _ in range(NEVER_CLOSING)]
    try:
        for sock in held:  # each is answered and half-closed; none of them closes its end
            assert _read_answer(sock).startswith(b"HTTP/1.1 200 ")
        visitor = _request(one_worker, "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
        visitor.settimeout(5)
        answer = _read_answer(visitor)  # a stalled loop answers only after ~2 s per held connection
        visitor.close()
        assert answer.startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in held:
            sock.close()


def test_an_upload_refused_mid_body_still_gets_its_answer(one_worker: LiveIntake) -> None:
    """413 is answered from the head alone, while the client still sends 8 MiB of its body."""
    sock = _request(
        one_worker,
        "POST /submit HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 100000000000\r\nConnection: close\r\n\r\n",
    )
    body = b"x" * (64 * 1024)
    for _ in range(128):  # a browser goes on sending until it has read the answer
        sock.sendall(body)
    sock.shutdown(socket.SHUT_WR)
    answer = _read_answer(sock)
    sock.close()
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 4"), status  # the session check or the size, never a reset
