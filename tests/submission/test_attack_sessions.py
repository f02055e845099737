"""Issue 11, items 5 and 7 (sessions and sources): the session store is bounded without evicting a
source, sessions end at an absolute time, the CSRF secret changes at identification, and two
first submissions of one new source at once both land."""

import dataclasses
import sqlite3
import time
from collections.abc import Iterator

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crypto import X25519Identity
from crypto.codename import source_id
from submission import sessions as sessions_module
from submission.app import create_app
from submission.models import Source, WebSession
from submission.settings import DATABASE_FILE, Settings
from submission.sources import get_or_create_source
from tests.support.forms import csrf_token, new_source, post_submission, submit_token


@pytest.fixture
def small_app(settings: Settings) -> Iterator[Flask]:
    limits = dataclasses.replace(settings.limits, max_anonymous_sessions=20)
    app = create_app(dataclasses.replace(settings, limits=limits))
    app.config["TESTING"] = True
    yield app
    app.extensions["tamga.engine"].dispose()


def session_rows(app: Flask, identified: bool | None = None) -> int:
    query = select(func.count()).select_from(WebSession)
    if identified is not None:
        query = query.where(WebSession.identified.is_(identified))
    with app.extensions["tamga.db"]() as db:
        return int(db.scalar(query) or 0)


@pytest.mark.parametrize(
    "database", [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_cookieless_visits_do_not_grow_the_session_table_without_bound(
    small_app: Flask, database: str
) -> None:
    assert small_app.extensions["tamga.engine"].dialect.name == database
    source = small_app.test_client()
    new_source(source)
    for _ in range(100):
        small_app.test_client().get("/")  # a fresh client: no cookie, a new session each time
    assert session_rows(small_app, identified=False) <= 20
    assert session_rows(small_app) <= 21
    assert source.get("/submit").status_code == 200  # the source's session survived the flood


def test_the_newest_anonymous_visitor_keeps_a_working_form(small_app: Flask) -> None:
    for _ in range(40):
        small_app.test_client().get("/")
    visitor = small_app.test_client()
    token = csrf_token(visitor.get("/").get_data(as_text=True))
    assert visitor.post("/codename", data={"csrf_token": token}).status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


def test_a_session_in_constant_use_still_ends_at_its_absolute_lifetime(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(sessions_module, "time", clock)
    new_source(client)
    limits = app.extensions["tamga.intake"].settings.limits
    assert limits.session_max_minutes < 24 * 60
    for _ in range(limits.session_max_minutes // 60 - 1):  # every hour: well inside the sliding lifetime
        clock.now += 3600
        assert client.get("/submit").status_code == 200
    clock.now += 2 * 3600 + 15 * 60
    assert client.get("/submit").status_code == 403


def test_logging_in_again_begins_a_new_absolute_lifetime(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(sessions_module, "time", clock)
    codename = new_source(client)
    post_submission(client, submit_token(client), "first")
    limits = app.extensions["tamga.intake"].settings.limits
    for _ in range(limits.session_max_minutes // 60 - 1):
        clock.now += 3600
        assert client.get("/submit").status_code == 200
    client.post("/logout", data={"csrf_token": submit_token(client)})
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "codename": codename}).status_code == 200
    clock.now += 2 * 3600
    assert client.get("/submit").status_code == 200


@pytest.mark.parametrize("identify", ["codename", "login"])
def test_the_csrf_secret_from_before_identification_is_worthless_after_it(
    client: FlaskClient, identify: str
) -> None:
    if identify == "login":
        codename = new_source(client)
        post_submission(client, submit_token(client), "first")
        client.post("/logout", data={"csrf_token": submit_token(client)})
        before = csrf_token(client.get("/").get_data(as_text=True))
        page = client.post("/login", data={"csrf_token": before, "codename": codename})
    else:
        before = csrf_token(client.get("/").get_data(as_text=True))
        page = client.post("/codename", data={"csrf_token": before})
    assert page.status_code == 200
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    after = submit_token(client)
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303


@pytest.mark.parametrize(
    "database", [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_first_submissions_of_a_new_source_at_once_both_find_its_row(app: Flask, database: str) -> None:
    assert app.extensions["tamga.engine"].dialect.name == database
    identity = X25519Identity.generate()
    factory = app.extensions["tamga.db"]
    with app.test_request_context("/submit", method="POST"):
        session["source_id"] = source_id(identity)
        session["reply_recipient"] = str(identity.recipient)
        session["new"] = True
        with factory() as first, factory() as second:
            # Both requests look before either commits: neither sees a row.
            assert first.get(Source, source_id(identity)) is None
            assert second.get(Source, source_id(identity)) is None
            one = get_or_create_source(first)
            two = get_or_create_source(second)
            first.commit()
            second.commit()
            assert one.id == two.id == source_id(identity)
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Source)) == 1


def test_a_session_table_from_before_is_recreated(settings: Settings) -> None:
    with sqlite3.connect(settings.data_dir / DATABASE_FILE) as raw:
        raw.execute("CREATE TABLE web_sessions (token_hash TEXT PRIMARY KEY, data TEXT, expires INTEGER)")
        raw.execute("INSERT INTO web_sessions VALUES ('x', '{}', 1)")
    app = create_app(settings)
    try:
        client = app.test_client()
        new_source(client)
        assert client.get("/submit").status_code == 200
        assert session_rows(app, identified=True) == 1
    finally:
        app.extensions["tamga.engine"].dispose()
