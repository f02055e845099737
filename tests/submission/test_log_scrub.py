"""The one log format: when the database refuses a write, or anything raises with a secret, only types,
code locations and the day reach stderr (the app in process; test_gunicorn_scrub.py: under gunicorn).
"""

import json
import logging
import os
import sys
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url, text

from submission.logscrub import ScrubbingFormatter
from submission.models import Base
from tests.support.forms import new_source
from tests.support.logshape import TIME_OF_DAY, bad_lines

SECRET = "SECRET-MARKER-7f3a"
URL_VARIABLE = "TAMGA_TEST_DATABASE_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The data directory's SQLite, and PostgreSQL from TAMGA_TEST_DATABASE_URL (emptied) when set."""
    if request.param == "sqlite":
        yield None
        return
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"{URL_VARIABLE} is not set (see tests/tools/postgres.sh)")
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    yield url
    engine.dispose()  # a test may have had the server drop its connections
    Base.metadata.drop_all(engine)
    engine.dispose()


def refuse_writes(app: Flask) -> None:
    """From now on the database refuses every write, as a full disk or a read-only server does."""
    app.testing = False  # exceptions are handled and logged as in production, not re-raised
    engine = app.extensions["tamga.engine"]
    engine.dispose()

    @event.listens_for(engine, "connect")
    def read_only(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()  # a SET inside a transaction rolled back would not last
        cursor.close()


def session_row(app: Flask) -> dict[str, object]:
    with app.extensions["tamga.engine"].connect() as db:
        return dict(json.loads(db.execute(text("SELECT data FROM web_sessions")).scalar_one()))


def assert_scrubbed(logged: str, *secrets: str) -> None:
    assert logged.strip(), "nothing was logged"
    assert bad_lines(logged) == []
    assert not TIME_OF_DAY.search(logged)
    for secret in (*secrets, SECRET, "INSERT", "UPDATE", "web_sessions", "csrf", "/submit", "127.0.0.1"):
        assert secret not in logged


def test_a_refused_session_write_logs_only_types_and_locations(
    app: Flask, client: FlaskClient, capfd: pytest.CaptureFixture[str]
) -> None:
    new_source(client)
    stored = session_row(app)
    secrets = [str(value) for value in stored.values() if isinstance(value, str) and len(value) > 3]
    assert secrets, stored
    capfd.readouterr()
    refuse_writes(app)

    response = client.get("/language/kk")  # the session row changes: an UPDATE the database refuses

    assert response.status_code == 500
    logged = capfd.readouterr().err
    assert_scrubbed(logged, *secrets)
    assert "OperationalError" in logged or "InternalError" in logged  # the type does come through
    assert "flask/app.py" in logged  # and where it passed
    assert "submission/sessions.py" in logged
    assert "kk" not in logged.split()  # the language, a parameter of the refused UPDATE


def test_a_refused_new_session_logs_only_types_and_locations(
    app: Flask, capfd: pytest.CaptureFixture[str]
) -> None:
    refuse_writes(app)
    capfd.readouterr()
    response = app.test_client().get("/")  # a first visit: an INSERT the database refuses
    assert response.status_code == 500
    assert_scrubbed(capfd.readouterr().err)


def test_an_exception_with_a_secret_in_its_message_and_sql_parameters(
    app: Flask, client: FlaskClient, capfd: pytest.CaptureFixture[str]
) -> None:
    @app.get("/boom-sql")
    def boom_sql() -> str:
        with app.extensions["tamga.engine"].connect() as db:
            db.execute(text("SELECT * FROM no_such_table WHERE secret = :secret"), {"secret": SECRET})
        return "unreachable"

    @app.get("/boom")
    def boom() -> str:
        try:
            raise KeyError(SECRET)
        except KeyError as error:
            raise RuntimeError(f"while handling {SECRET}") from error

    app.testing = False
    capfd.readouterr()
    assert client.get("/boom-sql").status_code == 500
    assert client.get("/boom").status_code == 500
    app.logger.error("a careless call: %s", SECRET)
    logged = capfd.readouterr().err
    assert_scrubbed(logged, "no_such_table", "SELECT")
    assert "sqlalchemy.exc.ProgrammingError" in logged or "sqlalchemy.exc.OperationalError" in logged
    assert "raised RuntimeError: " in logged
    assert "cause KeyError: " in logged
    assert "test_log_scrub.py" in logged


def test_the_formatter_renders_no_message_argument_or_exception_text() -> None:
    try:
        raise ValueError(SECRET)
    except ValueError:
        record = logging.LogRecord(
            "tamga.test", logging.ERROR, __file__, 7, "at %s from %s", (SECRET, "203.0.113.9"), sys.exc_info()
        )
    record.created = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
    line = ScrubbingFormatter().format(record)
    assert line.splitlines() == [
        "2027-01-15 ERROR tamga.test tests/submission/test_log_scrub.py:7:None",
        line.splitlines()[1],
    ]
    assert line.splitlines()[1].startswith("2027-01-15 ERROR tamga.test raised ValueError: tests/submission/")
    assert bad_lines(line) == []
    assert SECRET not in line and "203.0.113.9" not in line and "08:00" not in line


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_going_away_logs_only_types_and_locations(
    app: Flask, client: FlaskClient, database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """The server stops taking connections and drops the app's: every request now fails to connect."""
    new_source(client)
    secrets = [str(value) for value in session_row(app).values() if isinstance(value, str)]
    app.testing = False
    name = make_url(database_url).database
    admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            db.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
        capfd.readouterr()
        response = client.get("/language/ru")
        logged = capfd.readouterr().err
    finally:
        with admin.connect() as db:
            db.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert response.status_code == 500
    assert_scrubbed(logged, *secrets, name or "tamga")
    assert "sqlalchemy.exc.OperationalError" in logged
