"""The source's journey through the test client: landing, codename, submit, come back, log out."""

import dataclasses
import json
import re
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from crypto import X25519Identity
from crypto.codename import derive_reply_identity, source_id
from submission.app import create_app
from submission.codenames import new_codename, word_list
from submission.models import Source, Submission, WebSession
from submission.sessions import COOKIE_NAME
from submission.settings import Settings
from tests.support.forms import csrf_token, new_source, post_submission, stored_files, submit_token
from tests.support.journey import (
    FILES,
    MESSAGE,
    all_data_bytes,
    codename_forms,
    count,
    run_journey,
    sealed_contents,
    utc_today,
)

NOT_RECOGNISED = "That codename is not recognised. Check the words and try again."
SESSION_ENDED = "Your session has ended. Please log in again with your codename."


def test_landing_page_gives_safety_advice(client: FlaskClient) -> None:
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Send evidence of election violations safely" in page
    assert "Use Tor Browser, and set its security level to “Safest”" in page
    assert "This site works fully without JavaScript." in page
    assert "Do not use a work computer or phone" in page
    assert "Photos and videos often contain hidden information" in page
    assert "This can identify you." in page
    assert "<script" not in page
    assert 'action="/codename"' in page
    assert 'action="/login"' in page


def test_landing_page_shows_the_demo_banner_only_in_demo_mode(
    client: FlaskClient, settings: Settings
) -> None:
    banner = "DEMO: this is a demonstration server. Do not send real evidence here."
    assert banner not in client.get("/").get_data(as_text=True)
    demo_app = create_app(dataclasses.replace(settings, demo=True))
    try:
        assert banner in demo_app.test_client().get("/").get_data(as_text=True)
    finally:
        demo_app.extensions["tamga.engine"].dispose()


def test_codename_is_seven_words_from_the_eff_list_and_fresh_each_time(client: FlaskClient) -> None:
    shown = []
    for _ in range(2):
        token = csrf_token(client.get("/").get_data(as_text=True))
        response = client.post("/codename", data={"csrf_token": token})
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert page.count('id="codename"') == 1
        match = re.search(r'<p id="codename" class="codename">([^<]*)</p>', page)
        assert match
        shown.append(match.group(1))
        assert "Memorise these words now, in this order." in page
    words = set(word_list())
    for codename in shown:
        assert len(codename.split(" ")) == 7
        assert all(word in words for word in codename.split(" "))
    assert shown[0] != shown[1]


def test_no_source_row_until_the_first_submission(app: Flask, client: FlaskClient) -> None:
    new_source(client)
    assert count(app, Source) == 0
    assert count(app, WebSession) == 1
    page = client.get("/submit").get_data(as_text=True)
    assert "What you have sent before" not in page
    assert count(app, Source) == 0
    assert post_submission(client, submit_token(client), "first words").status_code == 303
    assert count(app, Source) == 1


def test_submission_is_sealed_to_the_reviewer(
    app: Flask, client: FlaskClient, data_dir: Path, reviewer: X25519Identity, settings: Settings
) -> None:
    codename = new_source(client)
    response = post_submission(client, submit_token(client), MESSAGE, FILES)
    assert response.status_code == 303
    assert response.headers["Location"] == "/thanks"

    with app.extensions["tamga.db"]() as db:
        submission = db.scalars(select(Submission)).one()
        source = db.scalars(select(Source)).one()
        envelopes = submission.envelopes
        assert submission.source_id == source.id
        assert submission.day == utc_today()
        assert source.created_day == utc_today()
        assert sorted((e.item, e.kind) for e in envelopes) == [
            (0, "message"),
            (1, "file-content"),
            (1, "file-metadata"),
            (2, "file-content"),
            (2, "file-metadata"),
        ]
        names = {e.storage_name for e in envelopes}
    assert {path.name for path in stored_files(data_dir)} == names
    assert all(re.fullmatch(r"[0-9a-f]{32}\.age", name) for name in names)

    by_item = {(item, kind): plain for item, kind, plain in sealed_contents(app, data_dir, reviewer)}
    assert by_item[(0, "message")] == MESSAGE.encode()
    for item, (content, name, kind) in enumerate(FILES, start=1):
        assert by_item[(item, "file-content")] == content
        assert json.loads(by_item[(item, "file-metadata")]) == {"name": name, "type": kind}
    for path in stored_files(data_dir):
        assert b"carousel" not in path.read_bytes()
        assert b"Ballot" not in path.read_bytes()

    identity = derive_reply_identity(codename, settings.codename_salt)
    assert source.id == source_id(identity)
    assert source.reply_recipient == str(identity.recipient)
    for path, content in all_data_bytes(data_dir):
        assert identity.to_text().encode() not in content, path.name
        assert identity._secret not in content, path.name


def file_metadata(app: Flask, data_dir: Path, reviewer: X25519Identity) -> list[dict[str, str]]:
    return [
        json.loads(plain)
        for _, kind, plain in sealed_contents(app, data_dir, reviewer)
        if kind == "file-metadata"
    ]


def test_a_path_in_a_file_name_is_reduced_to_its_base_name(
    app: Flask, client: FlaskClient, data_dir: Path, reviewer: X25519Identity
) -> None:
    sent = [
        (b"one", "../../etc/passwd", "text/plain"),
        (b"two", "/home/aigerim/Фото/протокол №12.jpg", "image/jpeg"),
    ]
    new_source(client)
    assert post_submission(client, submit_token(client), files=sent).status_code == 303
    assert file_metadata(app, data_dir, reviewer) == [
        {"name": "passwd", "type": "text/plain"},
        {"name": "протокол №12.jpg", "type": "image/jpeg"},
    ]


def test_a_windows_path_in_a_file_name_is_reduced_to_its_base_name(
    app: Flask, client: FlaskClient, data_dir: Path, reviewer: X25519Identity
) -> None:
    new_source(client)
    sent = [(b"one", "C:\\Users\\observer\\Videos\\station-12.mp4", "video/mp4")]
    assert post_submission(client, submit_token(client), files=sent).status_code == 303
    assert file_metadata(app, data_dir, reviewer) == [{"name": "station-12.mp4", "type": "video/mp4"}]


def test_returning_source_logs_in_with_a_retyped_codename_and_sees_days_only(
    app: Flask, client: FlaskClient
) -> None:
    codename = new_source(client)
    assert post_submission(client, submit_token(client), MESSAGE, FILES).status_code == 303
    assert post_submission(client, submit_token(client), "second note").status_code == 303

    returning = app.test_client()
    token = csrf_token(returning.get("/").get_data(as_text=True))
    retyped = "  " + "   ".join(word.upper() for word in codename.split()) + "  "
    response = returning.post("/login", data={"csrf_token": token, "codename": retyped})
    assert response.status_code == 200
    assert "There are no replies yet." in response.get_data(as_text=True)

    for page in (response.get_data(as_text=True), returning.get("/submit").get_data(as_text=True)):
        assert "What you have sent before" in page
        assert page.count(f"A submission on {utc_today().isoformat()}") == 2
        assert 'enctype="multipart/form-data"' in page
        for secret in ("Ballot", "second note", "carousel", "protocol 12", "video/mp4", codename):
            assert secret not in page
    assert post_submission(returning, submit_token(returning), "third").status_code == 303
    assert count(app, Source) == 1
    assert count(app, Submission) == 3


def test_logout_ends_the_session_on_the_server(app: Flask, client: FlaskClient) -> None:
    new_source(client)
    assert post_submission(client, submit_token(client), "a note").status_code == 303
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None

    response = client.post("/logout", data={"csrf_token": submit_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/logged-out"
    assert "You are logged out" in client.get("/logged-out").get_data(as_text=True)
    assert client.get_cookie(COOKIE_NAME) is None
    for path in ("/submit", "/thanks"):
        response = client.get(path)
        assert response.status_code == 403
        assert SESSION_ENDED in response.get_data(as_text=True)

    replay = app.test_client()
    replay.set_cookie(COOKIE_NAME, cookie.value)
    assert replay.get("/submit").status_code == 403


def test_sessions_expire(app: Flask, client: FlaskClient) -> None:
    new_source(client)
    assert client.get("/submit").status_code == 200
    with app.extensions["tamga.db"]() as db, db.begin():
        db.execute(update(WebSession).values(expires=int(time.time()) - 1))
    response = client.get("/submit")
    assert response.status_code == 403
    assert SESSION_ENDED in response.get_data(as_text=True)


def test_a_wrong_codename_is_refused(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "codename": new_codename()})
    assert response.status_code == 403
    assert NOT_RECOGNISED in response.get_data(as_text=True)
    assert client.get("/submit").status_code == 403


def test_a_shown_codename_that_never_submitted_cannot_log_in(client: FlaskClient) -> None:
    codename = new_source(client)
    client.post("/logout", data={"csrf_token": submit_token(client)})
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "codename": codename})
    assert response.status_code == 403
    assert NOT_RECOGNISED in response.get_data(as_text=True)


def test_the_codename_is_kept_nowhere(
    app: Flask, client: FlaskClient, data_dir: Path, reviewer: X25519Identity
) -> None:
    codename = run_journey(app, client, data_dir, reviewer)
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    assert not any(form.decode() in cookie.value for form in codename_forms(codename))
    client.post("/logout", data={"csrf_token": submit_token(client)})
    app.extensions["tamga.engine"].dispose()  # checkpoint nothing away: read the WAL as it stands
    for path, content in all_data_bytes(data_dir):
        for form in codename_forms(codename):
            assert form not in content, f"codename found in {path.name}"
