"""The tus server (submission/tus.py, submission/uploads.py) through Flask's test client: the
protocol, offsets, what is checked without a key, limits, session and CSRF binding, the
all-or-nothing commit and expiry. The live server and a killed worker: test_tus_live.py."""

import datetime
import fcntl
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from crypto import X25519Identity, seal_bytes
from submission.models import Envelope, Submission, Upload, today
from submission.settings import GiB
from submission.uploads import UPLOADS_DIR
from tests.support.forms import new_source, submit_token
from tests.support.journey import FILES, MESSAGE, count, sealed_contents
from tests.support.tus import TusClient, flask_send, sealed_submission, upload_id


def logged_in(app: Flask) -> tuple[FlaskClient, TusClient]:
    client = app.test_client()
    new_source(client)
    return client, TusClient(flask_send(client), submit_token(client))


@pytest.fixture
def tus(app: Flask) -> TusClient:
    return logged_in(app)[1]


def partly_sent(
    tus: TusClient, reviewer: X25519Identity, kind: str, size: int, sent: int
) -> tuple[str, bytes]:
    """An upload of an envelope of `size` plaintext bytes, its first `sent` bytes sent."""
    envelope = seal_bytes(b"x" * size, [reviewer.recipient])
    location = tus.create_ok(kind, 0 if kind == "message" else 1, len(envelope))
    assert tus.patch(location, 0, envelope[:sent]).status == 204
    return location, envelope


def parts(data_dir: Path) -> list[Path]:
    return sorted((data_dir / UPLOADS_DIR).iterdir())


def test_options_advertise_the_protocol_and_the_submission_limit(tus: TusClient, app: Flask) -> None:
    reply = tus.options()
    assert reply.status == 204
    assert reply.headers["Tus-Resumable"] == "1.0.0"
    assert reply.headers["Tus-Version"] == "1.0.0"
    assert reply.headers["Tus-Extension"] == "creation,termination,expiration"
    assert (
        int(reply.headers["Tus-Max-Size"])
        >= app.extensions["tamga.intake"].settings.limits.max_submission_bytes
    )


def test_a_whole_submission_in_pieces_is_committed_as_the_no_js_path_commits_one(
    app: Flask, data_dir: Path, reviewer: X25519Identity
) -> None:
    client, tus = logged_in(app)
    big = (b"\x00evidence\xff" * 30_000, "long video.mp4", "video/mp4")  # several 64 KiB chunks
    files = [big, *FILES]
    envelopes = sealed_submission([reviewer.recipient], MESSAGE, files)
    location = tus.create_ok(*envelopes[0][:2], len(envelopes[0][2]))
    assert location.startswith("/uploads/") and len(upload_id(location)) == 32
    head = tus.head(location)
    assert head.status == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("0", str(len(envelopes[0][2])))
    assert head.headers["Cache-Control"] == "no-store"
    assert tus.delete(location).status == 204

    ids = tus.upload_all(envelopes, piece=100_000)
    assert len(parts(data_dir)) == len(envelopes)
    response = client.post("/submit/sealed", data={"csrf_token": tus.token, "upload": ids})
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")
    assert count(app, Submission) == 1 and count(app, Upload) == 0
    assert parts(data_dir) == []
    contents = sealed_contents(app, data_dir, reviewer)
    assert contents[0] == (0, "message", MESSAGE.encode())
    for item, (content, name, declared) in enumerate(files, start=1):
        assert (item, "file-content", content) in contents
        assert (item, "file-metadata", f'{{"name": "{name}", "type": "{declared}"}}'.encode()) in contents
    assert client.get("/thanks").status_code == 200


def test_upload_expires_is_a_whole_hour_at_least_a_day_ahead(tus: TusClient) -> None:
    reply = tus.create("message", 0, 500)
    expires = datetime.datetime.strptime(reply.headers["Upload-Expires"], "%a, %d %b %Y %H:%M:%S GMT")
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert (expires.minute, expires.second) == (0, 0)
    assert datetime.timedelta(hours=24) <= expires - now <= datetime.timedelta(hours=48)


def test_a_piece_at_the_wrong_offset_is_a_conflict_and_changes_nothing(
    tus: TusClient, reviewer: X25519Identity
) -> None:
    envelope = seal_bytes(b"x" * 200_000, [reviewer.recipient])
    location = tus.create_ok("file-content", 1, len(envelope))
    assert tus.patch(location, 0, envelope[:1000]).status == 204
    assert tus.patch(location, 0, envelope[:1000]).status == 409
    assert tus.patch(location, 2000, envelope[2000:3000]).status == 409
    assert tus.offset(location) == 1000
    reply = tus.patch(location, 1000, envelope[1000:])
    assert (reply.status, reply.headers["Upload-Offset"]) == (204, str(len(envelope)))
    assert tus.patch(location, len(envelope), b"more").status == 413


def test_a_body_that_is_not_an_age_envelope_is_refused_and_removed(tus: TusClient, data_dir: Path) -> None:
    location = tus.create_ok("file-content", 1, 10_000)
    reply = tus.patch(location, 0, b"%PDF-1.7 plaintext evidence" * 10)
    assert reply.status == 400
    assert tus.head(location).status == 404
    assert parts(data_dir) == []


def test_a_header_split_over_pieces_is_checked_when_it_is_whole(
    tus: TusClient, reviewer: X25519Identity
) -> None:
    envelope = seal_bytes(b"evidence", [reviewer.recipient])
    location = tus.upload("message", 0, envelope, piece=7)
    assert tus.offset(location) == len(envelope)


def test_the_wrong_number_of_recipients_is_refused(tus: TusClient, reviewer: X25519Identity) -> None:
    other = X25519Identity.generate().recipient
    envelope = seal_bytes(b"evidence", [reviewer.recipient, other])
    location = tus.create_ok("message", 0, len(envelope))
    assert tus.patch(location, 0, envelope).status == 400
    assert tus.head(location).status == 404


def test_a_length_that_age_framing_cannot_have_is_refused_when_the_header_arrives(
    tus: TusClient, reviewer: X25519Identity
) -> None:
    envelope = seal_bytes(b"x" * 65_536, [reviewer.recipient])
    location = tus.create_ok("file-content", 1, len(envelope) + 8)
    assert tus.patch(location, 0, envelope[:4096]).status == 400
    assert tus.head(location).status == 404


def test_limits_are_the_no_js_paths(app: Flask, tus: TusClient) -> None:
    limits = app.extensions["tamga.intake"].settings.limits
    assert tus.create("file-content", 1, limits.max_submission_bytes * 2).status == 413
    assert tus.create("file-content", limits.max_files + 1, 1000).status == 413
    assert tus.create("message", 0, limits.max_message_chars * 8).status == 413
    assert tus.create("message", 1, 1000).status == 400  # a message is item 0, a file never is
    assert tus.create("file-metadata", 0, 1000).status == 400
    assert tus.create("evidence", 1, 1000).status == 400
    app.extensions["tamga.intake"].store.reserve.reserve_bytes = -(1 << 50)  # whatever the disk's size
    half = app.extensions["tamga.uploads"].max_total // 2 + 1
    assert tus.create("file-content", 1, half).status == 201
    assert tus.create("file-content", 2, half).status == 413  # the session's uploads add up
    for item in range(2, limits.max_files + 1):
        assert tus.create("file-metadata", item, 1000).status == 201
    for _ in range(limits.max_files + 1):  # to 2 × files + 1 envelopes, the most a submission has
        assert tus.create("file-metadata", 1, 1000).status == 201
    assert tus.create("message", 0, 1000).status == 413


def test_the_free_disk_reserve_is_checked_at_creation(app: Flask, tus: TusClient, data_dir: Path) -> None:
    reserve = app.extensions["tamga.intake"].store.reserve
    reserve.reserve_bytes = reserve.free_bytes() - GiB  # 1 GiB of room: margins others' writes cannot eat
    assert tus.create("file-content", 1, 2 * GiB).status == 507
    assert parts(data_dir) == []
    assert tus.create("file-content", 1, 10_000).status == 201


def test_the_free_disk_reserve_is_checked_while_writing(
    app: Flask, tus: TusClient, reviewer: X25519Identity, data_dir: Path
) -> None:
    location, envelope = partly_sent(tus, reviewer, "file-content", 3_000_000, 1_000_000)
    reserve = app.extensions["tamga.intake"].store.reserve
    reserve.reserve_bytes = reserve.free_bytes() + GiB
    assert tus.patch(location, 1_000_000, envelope[1_000_000:]).status == 507
    reserve.reserve_bytes = 0
    offset = tus.offset(location)
    assert offset == 1_000_000  # the refused piece claimed nothing, and the first one is kept
    assert tus.patch(location, offset, envelope[offset:]).status == 204


def test_an_upload_belongs_to_the_session_that_created_it(app: Flask, reviewer: X25519Identity) -> None:
    _, owner = logged_in(app)
    other_client, other = logged_in(app)
    envelope = seal_bytes(b"evidence", [reviewer.recipient])
    location = owner.upload("message", 0, envelope)
    assert other.head(location).status == 404
    assert other.patch(location, 0, envelope).status == 404
    assert other.delete(location).status == 404
    refused = other_client.post(
        "/submit/sealed", data={"csrf_token": other.token, "upload": [upload_id(location)]}
    )
    assert refused.status_code == 400
    assert count(app, Submission) == 0
    assert owner.offset(location) == len(envelope)


def test_every_request_needs_the_csrf_header_the_protocol_and_a_log_in(
    app: Flask, tus: TusClient, reviewer: X25519Identity
) -> None:
    envelope = seal_bytes(b"evidence", [reviewer.recipient])
    location = tus.create_ok("message", 0, len(envelope))
    forged = TusClient(tus.send, "not-the-token")
    assert forged.create("message", 0, 100).status == 400
    assert forged.patch(location, 0, envelope).status == 400
    assert forged.delete(location).status == 400
    assert forged.head(location).status == 400
    no_version = tus.send("HEAD", location, None, {"X-CSRFToken": tus.token})
    assert no_version.status == 412 and no_version.headers["Tus-Version"] == "1.0.0"
    wrong_type = tus.patch(location, 0, envelope, {"Content-Type": "application/octet-stream"})
    assert wrong_type.status == 415
    anonymous = app.test_client()
    stranger = TusClient(flask_send(anonymous), tus.token)
    assert stranger.create("message", 0, 100).status == 403
    assert tus.offset(location) == 0


def test_the_commit_needs_its_csrf_token(app: Flask, reviewer: X25519Identity) -> None:
    client, tus = logged_in(app)
    ids = tus.upload_all(sealed_submission([reviewer.recipient], MESSAGE))
    assert client.post("/submit/sealed", data={"upload": ids}).status_code == 400
    assert count(app, Submission) == 0
    assert tus.commit(ids).status == 303


def test_half_a_submission_is_never_committed(app: Flask, reviewer: X25519Identity, data_dir: Path) -> None:
    _, tus = logged_in(app)
    envelopes = sealed_submission([reviewer.recipient], MESSAGE, FILES)
    ids = tus.upload_all(envelopes[:-1])
    last_kind, last_item, last = envelopes[-1]
    unfinished = tus.create_ok(last_kind, last_item, len(last))
    assert tus.patch(unfinished, 0, last[:100]).status == 204
    refusals = [
        [*ids, upload_id(unfinished)],  # one incomplete
        ids,  # a file's content missing
        [*ids, "0" * 32],  # an unknown upload
        [*ids, ids[0]],  # one named twice
        [],
    ]
    for named in refusals:
        assert tus.commit(named).status == 400, named
    assert count(app, Submission) == 0 and count(app, Envelope) == 0
    assert not list((data_dir / "store").glob("*.age"))
    assert tus.patch(unfinished, 100, last[100:]).status == 204
    assert tus.commit([*ids, upload_id(unfinished)]).status == 303
    assert count(app, Envelope) == len(envelopes)
    assert tus.commit(ids).status == 400  # committed uploads are gone


def test_a_cancelled_upload_leaves_nothing(
    tus: TusClient, app: Flask, data_dir: Path, reviewer: X25519Identity
) -> None:
    location, _ = partly_sent(tus, reviewer, "file-content", 100_000, 5000)
    assert tus.delete(location).status == 204
    assert tus.head(location).status == 404
    assert count(app, Upload) == 0 and parts(data_dir) == []


def test_bytes_a_killed_writer_left_past_the_offset_are_dropped(
    tus: TusClient, data_dir: Path, reviewer: X25519Identity, app: Flask
) -> None:
    location, envelope = partly_sent(tus, reviewer, "message", 200_000, 50_000)
    (part,) = parts(data_dir)
    with part.open("ab") as killed:  # written, never fsynced nor acknowledged
        killed.write(b"\x00" * 70_000)
    assert tus.offset(location) == 50_000
    assert tus.patch(location, 50_000, envelope[50_000:]).status == 204
    assert tus.commit([upload_id(location)]).status == 303
    assert sealed_contents(app, data_dir, reviewer) == [(0, "message", b"x" * 200_000)]


def expire_all(app: Flask) -> None:
    with app.extensions["tamga.db"]() as db:
        db.execute(update(Upload).values(expires_day=today()))
        db.commit()


def test_an_expired_upload_is_gone_at_its_next_request(tus: TusClient, app: Flask, data_dir: Path) -> None:
    location = tus.create_ok("file-content", 1, 10_000)
    expire_all(app)
    assert tus.head(location).status == 404
    assert count(app, Upload) == 0 and parts(data_dir) == []


def test_expired_uploads_are_purged_by_the_command_and_at_start(
    tus: TusClient, app: Flask, data_dir: Path, settings, reviewer: X25519Identity
) -> None:
    from click.testing import CliRunner

    from submission.cli import cli

    envelope = seal_bytes(b"x" * 10_000, [reviewer.recipient])
    for item in (1, 2):
        location = tus.create_ok("file-content", item, len(envelope))
        assert tus.patch(location, 0, envelope[:3000]).status == 204
    kept = tus.create_ok("message", 0, 1000)
    with app.extensions["tamga.db"]() as db:
        db.execute(update(Upload).where(Upload.kind == "file-content").values(expires_day=today()))
        db.commit()
    result = CliRunner().invoke(cli, ["purge", "--data-dir", str(data_dir), "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "removed 2 expired incomplete upload(s)" in result.output
    with app.extensions["tamga.db"]() as db:
        assert db.scalars(select(Upload.id)).all() == [upload_id(kept)]
    assert len(parts(data_dir)) == 1
    expire_all(app)
    from submission.app import create_app

    create_app(settings).extensions["tamga.engine"].dispose()
    assert count(app, Upload) == 0 and parts(data_dir) == []


def test_the_submit_form_names_the_recipients_and_the_upload_endpoint(
    app: Flask, reviewer: X25519Identity
) -> None:
    client, _ = logged_in(app)
    page = client.get("/submit").get_data(as_text=True)
    assert f'data-recipients="{reviewer.recipient}"' in page
    assert 'data-uploads="/uploads"' in page


@pytest.mark.postgres
def test_the_tus_path_on_postgresql(app: Flask, data_dir: Path, reviewer: X25519Identity) -> None:
    """Big offsets (BIGINT), the sums of the limits and the commit on the other database."""
    test_a_whole_submission_in_pieces_is_committed_as_the_no_js_path_commits_one(app, data_dir, reviewer)
    _, tus = logged_in(app)
    app.extensions["tamga.intake"].store.reserve.reserve_bytes = -(1 << 50)
    big = tus.create_ok("file-content", 1, 3 * GiB)
    assert tus.head(big).headers["Upload-Length"] == str(3 * GiB)
    assert tus.create("file-content", 2, 2 * GiB).status == 413
    expire_all(app)
    assert tus.head(big).status == 404
    assert count(app, Upload) == 0


def test_a_piece_sent_while_another_is_written_is_a_conflict_that_touches_nothing(
    tus: TusClient, data_dir: Path, reviewer: X25519Identity
) -> None:
    location, envelope = partly_sent(tus, reviewer, "file-content", 100_000, 40_000)
    (part,) = parts(data_dir)
    with part.open("rb") as writer:  # another worker's request, holding the part
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        assert tus.patch(location, 40_000, envelope[40_000:]).status == 409
        assert tus.delete(location).status == 409
        assert part.stat().st_size == 40_000
    assert tus.patch(location, 40_000, envelope[40_000:]).status == 204


def test_an_upload_whose_part_was_lost_is_gone_not_a_conflict_for_ever(
    tus: TusClient, data_dir: Path, reviewer: X25519Identity, app: Flask
) -> None:
    location, envelope = partly_sent(tus, reviewer, "message", 100_000, 40_000)
    (part,) = parts(data_dir)
    part.unlink()  # as a crash of the filesystem, or an operator, could
    assert tus.patch(location, 40_000, envelope[40_000:]).status == 404
    assert tus.head(location).status == 404
    assert count(app, Upload) == 0
