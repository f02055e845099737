"""The database: the journey against a real PostgreSQL, SQLite in WAL mode, and a schema that keeps little."""

import contextlib
import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import DateTime, Time, select

from crypto import X25519Identity
from submission.models import Base, Envelope, Source, Submission, WebSession
from submission.settings import DATABASE_FILE
from tests.support.forms import new_source, post_submission, stored_files, submit_token
from tests.support.journey import count, run_journey, utc_today


@pytest.mark.postgres
def test_the_journey_on_postgresql(
    app: Flask, client: FlaskClient, data_dir: Path, reviewer: X25519Identity
) -> None:
    assert app.extensions["tamga.engine"].dialect.name == "postgresql"
    run_journey(app, client, data_dir, reviewer)
    assert not (data_dir / DATABASE_FILE).exists()
    with app.extensions["tamga.db"]() as db:
        submission = db.scalars(select(Submission)).one()
        assert submission.day == utc_today()
        assert len(submission.envelopes) == 5
        assert db.scalars(select(Source)).one().id == submission.source_id


@pytest.mark.postgres
def test_a_refused_upload_leaves_no_rows_on_postgresql(
    app: Flask, client: FlaskClient, data_dir: Path
) -> None:
    new_source(client)
    token = submit_token(client)
    response = post_submission(client, "forged", "hello", [(b"v" * 1000, "v.mp4", "video/mp4")])
    assert response.status_code == 400
    assert stored_files(data_dir) == []
    for model in (Source, Submission, Envelope):
        assert count(app, model) == 0
    assert post_submission(client, token, "hello").status_code == 303
    assert count(app, Envelope) == 1


@pytest.mark.postgres
def test_each_postgresql_test_starts_empty(app: Flask) -> None:
    for model in (Source, Submission, Envelope, WebSession):
        assert count(app, model) == 0


def test_sqlite_runs_in_wal_mode(app: Flask, client: FlaskClient, data_dir: Path) -> None:
    engine = app.extensions["tamga.engine"]
    assert engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    client.get("/")
    assert (data_dir / (DATABASE_FILE + "-wal")).exists()
    with contextlib.closing(sqlite3.connect(data_dir / DATABASE_FILE)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_session_expiry_is_rounded_to_a_quarter_hour(app: Flask, client: FlaskClient) -> None:
    client.get("/")
    with app.extensions["tamga.db"]() as db:
        expiries = db.scalars(select(WebSession.expires)).all()
    assert len(expiries) == 1
    assert expiries[0] % (15 * 60) == 0


def test_the_schema_keeps_no_time_of_day_and_nothing_about_a_person() -> None:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            assert not isinstance(column.type, DateTime | Time), f"{table.name}.{column.name}"
            name = column.name.lower()
            for word in ("ip", "addr", "agent", "filename", "file_name", "sha", "codename"):
                assert word not in name.split("_"), f"{table.name}.{column.name}"
