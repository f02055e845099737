"""The tus server under real gunicorn (tests/support/live.py): a whole submission in pieces over
fresh connections, a connection cut mid-piece, and a worker killed mid-piece, which costs the
client a HEAD and a retry, never the upload."""

import contextlib
import http.client
import os
import signal
import socket
import time
from collections.abc import Iterator

import pytest

from crypto import seal_bytes
from tests.support.journey import FILES, MESSAGE
from tests.support.live import LiveIntake, running_intake
from tests.support.tus import TusClient, sealed_submission, upload_id, visitor_send
from tests.support.visitor import Visitor

PIECE = 256 * 1024


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("tus"), workers=2, threads=8) as server:
        yield server


def source(intake: LiveIntake) -> tuple[Visitor, TusClient]:
    visitor = Visitor(intake)
    visitor.new_source()
    return visitor, TusClient(visitor_send(visitor), visitor.submit_token())


def half_sent_piece(
    visitor: Visitor, tus: TusClient, location: str, offset: int, piece: bytes
) -> http.client.HTTPConnection:
    """A PATCH whose headers promise `piece` but whose body stops half-way; its connection, open."""
    conn = visitor.connection()
    conn.putrequest("PATCH", location, skip_host=True, skip_accept_encoding=True)
    headers = visitor.headers(
        tus.headers(
            {
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
                "Content-Length": str(len(piece)),
            }
        )
    )
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(piece[: len(piece) // 2])
    return conn


def cut(conn: http.client.HTTPConnection) -> None:
    """Like a Tor circuit that dies: no more bytes, no answer read."""
    if conn.sock is not None:
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()


def wait_for_answer(intake: LiveIntake, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", intake.port, timeout=2)
        try:
            conn.request("GET", "/robots.txt", headers={"Host": intake.host_header})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise AssertionError("the intake did not answer again")


def test_a_whole_submission_over_real_gunicorn(intake: LiveIntake) -> None:
    _, tus = source(intake)
    before = intake.submission_count()
    envelopes = sealed_submission(
        [intake.reviewer.recipient], MESSAGE, [(os.urandom(700_000), "a.mp4", "video/mp4"), *FILES]
    )
    ids = tus.upload_all(envelopes, piece=PIECE)
    response = tus.commit(ids)
    assert response.status == 303 and response.headers["Location"].endswith("/thanks")
    assert intake.submission_count() == before + 1
    (submission_id,) = [row[0] for row in intake.query("SELECT id FROM submissions")][before:]
    opened = intake.opened_submission(str(submission_id))
    assert opened.message == MESSAGE
    assert [name for name, _, _ in opened.files] == ["a.mp4", *(name for _, name, _ in FILES)]
    assert intake.query("SELECT count(*) FROM uploads") == [(0,)]
    assert list((intake.data_dir / "uploads").iterdir()) == []


def test_a_cut_connection_keeps_what_arrived_and_the_upload_resumes(intake: LiveIntake) -> None:
    visitor, tus = source(intake)
    plaintext = os.urandom(2 * PIECE)
    envelope = seal_bytes(plaintext, [intake.reviewer.recipient])
    location = tus.create_ok("message", 0, len(envelope))
    for _ in range(3):  # a Tor circuit that dies three times
        offset = tus.offset(location)
        conn = half_sent_piece(visitor, tus, location, offset, envelope[offset : offset + PIECE])
        time.sleep(0.5)
        cut(conn)
        time.sleep(0.5)
        assert tus.offset(location) > offset  # the half piece that arrived was kept
    offset = tus.offset(location)
    assert tus.patch(location, offset, envelope[offset:]).status == 204
    assert tus.commit([upload_id(location)]).status == 303
    (name,) = [row[0] for row in intake.query("SELECT storage_name FROM envelopes WHERE kind = 'message'")][
        -1:
    ]
    assert intake.open_envelope(str(name)) == plaintext


def test_a_worker_killed_mid_piece_costs_a_retry_not_the_upload(intake: LiveIntake) -> None:
    visitor, tus = source(intake)
    plaintext = os.urandom(3 * PIECE)
    envelope = seal_bytes(plaintext, [intake.reviewer.recipient])
    location = tus.create_ok("file-content", 1, len(envelope))
    assert tus.patch(location, 0, envelope[:PIECE]).status == 204
    conn = half_sent_piece(visitor, tus, location, PIECE, envelope[PIECE : 2 * PIECE])
    time.sleep(0.5)
    workers = intake.worker_pids()
    for pid in workers:  # our own server's workers, by id: whichever holds the piece dies
        os.kill(pid, signal.SIGKILL)
    cut(conn)
    wait_for_answer(intake)
    assert set(intake.worker_pids()).isdisjoint(workers)
    assert tus.offset(location) == PIECE  # the last fsynced offset; the half piece was never acknowledged
    assert tus.patch(location, PIECE, envelope[PIECE:]).status == 204
    meta = seal_bytes(b'{"name": "v.mp4", "type": "video/mp4"}', [intake.reviewer.recipient])
    ids = [upload_id(location), upload_id(tus.upload("file-metadata", 1, meta))]
    assert tus.commit(ids).status == 303
    names = intake.query("SELECT storage_name FROM envelopes WHERE kind = 'file-content'")
    assert plaintext in [intake.open_envelope(str(name)) for (name,) in names]


def test_the_server_log_names_no_upload_and_no_time_finer_than_a_day(intake: LiveIntake) -> None:
    """After every test above (cut connections and a killed worker among them)."""
    _, tus = source(intake)
    location = tus.create_ok("message", 0, 1000)
    assert tus.patch(location, 0, b"not an envelope\n").status == 400
    log = intake.log()
    assert "/uploads" not in log and upload_id(location) not in log
    assert "PATCH" not in log and "HeaderError" not in log
    columns = {row[1] for row in intake.query("PRAGMA table_info(uploads)")}
    assert columns == {
        "id",
        "owner",
        "item",
        "kind",
        "length",
        "offset",
        "header_checked",
        "storage_name",
        "expires_day",
    }
