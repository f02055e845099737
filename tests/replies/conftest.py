"""Fixtures for replies, acknowledgements and retention: a station and an intake, both driven by their CLIs.

The station is `tamga-review` (click's CliRunner, TAMGA_PASSPHRASE in the environment); the intake
is `tamga-intake` plus its Flask app through the test client, each source with its own client (its
own cookies). Station directories are copies of one made per session by `tamga-review init`.

Unlocking a station costs two scrypt (2^18) derivations, about a second, so `Station.unlock` is
wrapped for the session by tests/support/station.py's cache, keyed on the key files, station.json
and the passphrase typed: the first unlock of a key set is real, later ones reuse the keys.
"""

import hashlib
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from crypto.bundle import BundleReader
from crypto.signing import VerifyKey
from review.station import Keys
from review.station import Station as ReviewStation
from submission.app import create_app
from submission.cli import cli as intake_cli
from submission.replies import CONTEXT as OUTBOX_CONTEXT
from submission.settings import load_settings
from tests.intake.conftest import FileSpec, csrf_token
from tests.intake.conftest import new_source as first_visit
from tests.support.intake import exported, submit_form
from tests.support.station import CliStation, assert_ok, invoke, unlock_cache

PASSPHRASE = "replies test passphrase"
ACTOR = "replies-tester"


def last_token(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1].split()[-1]


# --- the station ----------------------------------------------------------------------------


class Station(CliStation):
    """A station directory and `tamga-review` run on it."""

    PASSPHRASE = PASSPHRASE
    ACTOR = ACTOR

    def signing_key(self) -> str:
        """The last token of `tamga-review pubkey --signing`: what the intake pins."""
        return last_token(self.ok("pubkey", "--signing"))

    def keys(self) -> Keys:
        return ReviewStation(self.root).unlock(lambda: self.PASSPHRASE)

    def item_of(self, source_id: str, kind: str = "message") -> int:
        return next(int(i["id"]) for i in self.items() if i["source"] == source_id and i["kind"] == kind)

    def reply(self, item_id: int, text: str) -> int:
        """Reply with --message (the scripted way); return the station's reply number."""
        out = self.ok("reply", str(item_id), "--message", text).stdout
        match = re.match(r"Reply (\d+) to the source of item", out)
        assert match, out
        return int(match.group(1))

    def export_outbox(self, out: Path, *args: str) -> tuple[int, int]:
        result = self.ok("export-outbox", "--out", str(out), *args)
        match = re.fullmatch(r".+: (\d+) reply\(ies\), (\d+) acknowledgement\(s\)", result.stdout.strip())
        assert match, result.stdout
        return int(match.group(1)), int(match.group(2))

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        con = self.db()
        try:
            return con.execute(sql, parameters).fetchall()
        finally:
            con.close()

    def snapshot(self) -> dict[str, Any]:
        rows = {
            table: self.query(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608
            for table in ("outbox_replies", "outbox_state", "vault_envelopes", "custody_events")
        }
        outbox = self.root / "outbox"
        files = sorted(p.name for p in outbox.iterdir()) if outbox.exists() else []
        return {"rows": rows, "outbox": files}


@pytest.fixture(scope="session", autouse=True)
def fast_unlock() -> Iterator[None]:
    with unlock_cache():
        yield


@pytest.fixture(scope="session")
def station_template(tmp_path_factory: pytest.TempPathFactory) -> Station:
    return Station.create(tmp_path_factory.mktemp("replies-station") / "station")


@pytest.fixture(scope="session")
def other_station_template(tmp_path_factory: pytest.TempPathFactory) -> Station:
    return Station.create(tmp_path_factory.mktemp("replies-other-station") / "station")


@pytest.fixture
def station(tmp_path: Path, station_template: Station) -> Station:
    """A fresh station (a copy of the session's template), no server pinned yet."""
    return station_template.copy_to(tmp_path / "station")


# --- the intake -----------------------------------------------------------------------------


@dataclass
class Source:
    """A source's browser (its own cookies), codename and id."""

    client: FlaskClient
    codename: str
    id: str = ""
    submissions: list[str] = field(default_factory=list)


class Intake:
    """An intake data directory: `tamga-intake` on it, and its app through Flask's test client."""

    TABLES = (
        "sources",
        "submissions",
        "envelopes",
        "replies",
        "trusted_stations",
        "custody_heads",
        "counters",
    )

    def __init__(self, root: Path) -> None:
        self.root = root
        self._app: Flask | None = None

    # the CLI
    def run(self, command: str, *args: str | Path) -> Result:
        return invoke(intake_cli, [command, "--data-dir", str(self.root), *args])

    def ok(self, command: str, *args: str | Path) -> Result:
        return assert_ok(self.run(command, *args))

    def server_key(self) -> str:
        return last_token(self.ok("server-key"))

    def export(self, out: Path) -> int:
        ((_, count),) = exported(self.ok("export", "--out", str(out)))
        return count

    def import_replies(self, outbox: Path) -> Result:
        return self.run("import-replies", str(outbox))

    # the app
    @property
    def app(self) -> Flask:
        if self._app is None:
            self._app = create_app(load_settings(self.root))
            self._app.config["TESTING"] = True
        return self._app

    def new_source(self) -> Source:
        """A first visit in a fresh browser: landing page, then "Get a codename"."""
        client = self.app.test_client()
        return Source(client, first_visit(client))

    def submit(self, source: Source, message: str, files: Sequence[FileSpec] = ()) -> str:
        """One submission, as a browser without JavaScript sends it; return its submission id."""
        before = {row[0] for row in self.query("SELECT id FROM submissions")}
        submit_form(source.client, message, files)
        ((submission_id, source_id),) = [
            row for row in self.query("SELECT id, source_id FROM submissions") if row[0] not in before
        ]
        assert source.id in ("", source_id)
        source.id = source_id
        source.submissions.append(submission_id)
        return str(submission_id)

    def log_in(self, codename: str, client: FlaskClient | None = None) -> tuple[FlaskClient, str]:
        """Log in with the codename (by default in a fresh browser); return the client and the page."""
        client = client or self.app.test_client()
        token = csrf_token(client.get("/").get_data(as_text=True))
        response = client.post("/login", data={"csrf_token": token, "codename": codename})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.headers["Cache-Control"] == "no-store"  # it may hold decrypted replies
        return client, response.get_data(as_text=True)

    def close(self) -> None:
        if self._app is not None:
            self._app.extensions["tamga.engine"].dispose()
            self._app = None

    # what is on disk
    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def salt(self) -> bytes:
        return (self.root / "codename-salt").read_bytes()

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(self.root / "intake.sqlite", timeout=10)
        try:
            return con.execute(sql, parameters).fetchall()
        finally:
            con.close()

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> None:
        con = sqlite3.connect(self.root / "intake.sqlite", timeout=10)
        try:
            with con:
                con.execute(sql, parameters)
        finally:
            con.close()

    def store_files(self) -> dict[str, str]:
        """Every file in the store: name -> SHA-256 of its bytes."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.store.iterdir())}

    def envelope_files(self) -> dict[str, bytes]:
        """Every envelope still listed in the database: storage name -> its bytes."""
        return {
            name: (self.store / name).read_bytes()
            for (name,) in self.query("SELECT storage_name FROM envelopes ORDER BY storage_name")
        }

    def reply_files(self) -> list[str]:
        return [
            name for (name,) in self.query("SELECT storage_name FROM replies WHERE storage_name IS NOT NULL")
        ]

    def snapshot(self) -> dict[str, Any]:
        """Every row an import or purge could touch, and every file in the store."""
        rows = {table: self.query(f"SELECT * FROM {table} ORDER BY 1") for table in self.TABLES}  # noqa: S608
        return {"rows": rows, "store": self.store_files()}

    def all_bytes(self) -> list[tuple[Path, bytes]]:
        """Every file under the data directory (database, WAL, store, keys) and its bytes."""
        return [(p, p.read_bytes()) for p in sorted(self.root.rglob("*")) if p.is_file()]


def init_intake(root: Path, station: Station | None, *station_keys: str) -> Intake:
    """`tamga-intake init` sealing to the station (pinning its signing key unless told otherwise)."""
    recipient = last_token(station.ok("pubkey")) if station else None
    args = ["--recipient", recipient] if recipient else []
    for key in station_keys:
        args += ["--station-key", key]
    intake = Intake(root)
    intake.ok("init", *args)
    return intake


@pytest.fixture
def intake(tmp_path: Path, station: Station) -> Iterator[Intake]:
    """An intake sealing to `station` and pinning its signing key; the station pins the intake."""
    made = init_intake(tmp_path / "intake", station, station.signing_key())
    station.ok("trust-server", made.server_key())
    yield made
    made.close()


def deliver(station: Station, intake: Intake, bundle: Path) -> int:
    """Export what is new on the intake and import it on the station; return the envelope count."""
    count = intake.export(bundle)
    station.ok("import", str(bundle))
    return count


def read_outbox(path: Path, station_key: str) -> dict[str, Any]:
    """The verified manifest document of an outbox, and the names of its members."""
    with open(path, "rb") as src:
        reader = BundleReader(src)
        manifest = reader.manifest(OUTBOX_CONTEXT, [VerifyKey.parse(station_key)])
        document = dict(manifest.document)
    return document


__all__ = [
    "ACTOR",
    "PASSPHRASE",
    "Intake",
    "Source",
    "Station",
    "deliver",
    "init_intake",
    "last_token",
    "read_outbox",
]
