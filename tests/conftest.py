"""The fixtures every suite shares.

- The intake app, flaskr-style: a fresh data directory, app and client per test, with a real
  reviewer identity to open what it seals (`reviewer`, `data_dir`, `settings`, `app`, `client`,
  `runner`; `database_url` is overridden where a test asks for PostgreSQL).
- The station: `station` is a fresh copy of a directory made once per session by `tamga-review
  init` (`station_template`; `other_station_template` is a second key set). `Station.unlock` is
  served from tests/support/station.py's cache for the whole session: the first unlock of each key
  set is real, later ones reuse the keys (tests/review/test_network.py runs every command with real
  unlocks, in subprocesses).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine

from crypto import X25519Identity
from submission.app import create_app
from submission.datadir import create_data_dir
from submission.models import Base
from submission.settings import Settings, load_settings
from tests.support import rfc_boundary
from tests.support.forms import ONION
from tests.support.station import Station, unlock_cache

POSTGRES_URL_VARIABLE = "TAMGA_TEST_DATABASE_URL"

rfc_boundary.install()

# --- the intake app -------------------------------------------------------------------------


@pytest.fixture
def reviewer() -> X25519Identity:
    return X25519Identity.generate()


@pytest.fixture
def data_dir(tmp_path: Path, reviewer: X25519Identity) -> Path:
    path = tmp_path / "data"
    create_data_dir(path, [reviewer.recipient], onion_addresses=[ONION])
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """SQLite in the data directory; for tests marked postgres, PostgreSQL from
    TAMGA_TEST_DATABASE_URL, emptied before and after."""
    if request.node.get_closest_marker("postgres") is None:
        yield None
        return
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(
            f"{POSTGRES_URL_VARIABLE} is not set: start a server with "
            f"`bash tests/tools/postgres.sh start DIR` and export {POSTGRES_URL_VARIABLE}=$(cat DIR/url)"
        )
    _drop_all(url)
    yield url
    _drop_all(url)


def _drop_all(url: str) -> None:
    engine = create_engine(url)
    try:
        Base.metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def settings(data_dir: Path, database_url: str | None) -> Settings:
    return load_settings(data_dir, database_url=database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["tamga.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# --- the station ----------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def fast_unlock() -> Iterator[None]:
    with unlock_cache():
        yield


@pytest.fixture(scope="session")
def station_template(tmp_path_factory: pytest.TempPathFactory) -> Station:
    return Station.create(tmp_path_factory.mktemp("template") / "station")


@pytest.fixture(scope="session")
def other_station_template(tmp_path_factory: pytest.TempPathFactory) -> Station:
    return Station.create(tmp_path_factory.mktemp("other-template") / "station")


@pytest.fixture
def station(tmp_path: Path, station_template: Station) -> Station:
    """A fresh station (a copy of the session's template), no server pinned yet."""
    return station_template.copy_to(tmp_path / "station")
