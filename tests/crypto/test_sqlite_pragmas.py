"""The one home of SQLite's pragmas: both databases (the intake's, the catalogue) get all of them."""

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crypto.sqlite_pragmas import set_pragmas
from review.station import Station
from submission.db import make_engine

EXPECTED = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL
    "foreign_keys": 1,
    "secure_delete": 1,
    "busy_timeout": 10000,
}


def pragmas(connection: sqlite3.Connection) -> dict[str, object]:
    return {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in EXPECTED}


def test_set_pragmas_on_a_plain_sqlite3_connection(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "plain.sqlite")
    try:
        assert pragmas(connection) != EXPECTED
        set_pragmas(connection)
        assert pragmas(connection) == EXPECTED
    finally:
        connection.close()


def intake_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'intake.sqlite'}")


def station_engine(tmp_path: Path) -> Engine:
    root = tmp_path / "station"
    root.mkdir()
    (root / "station.json").write_text(json.dumps({"recipient": "", "verify_key": ""}))
    return Station(root).engine()


@pytest.mark.parametrize("make", [intake_engine, station_engine], ids=["intake", "station"])
def test_every_connection_of_both_engines_has_them(tmp_path: Path, make: Callable[[Path], Engine]) -> None:
    engine = make(tmp_path)
    try:
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                raw = connection.connection.dbapi_connection
                assert isinstance(raw, sqlite3.Connection)
                assert pragmas(raw) == EXPECTED
    finally:
        engine.dispose()
