"""The intake driver: a data directory, `tamga-intake` run on it, its app through Flask's test
client (each source with a client of its own, so its own cookies), and what it holds on disk.

The pages themselves (tokens, first visit, the submit form) are tests/support/forms.py's.
"""

import hashlib
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from crypto.bundle import BundleReader
from crypto.signing import SigningKey, VerifyKey
from crypto.x25519 import X25519Recipient
from submission.app import create_app
from submission.cli import cli as intake_cli
from submission.datadir import create_data_dir
from submission.replies import CONTEXT as OUTBOX_CONTEXT
from submission.settings import Settings, load_settings, load_signing_key
from tests.support.forms import FileSpec, csrf_token, new_source, submit_form
from tests.support.station import Station, assert_ok, invoke, last_token


def exported(result: Result) -> list[tuple[Path, int]]:
    """(bundle, envelope count) for each line `tamga-intake export` printed."""
    written = []
    for line in result.stdout.splitlines():
        match = re.fullmatch(r"(.+): (\d+) envelope\(s\)", line)
        assert match, line
        written.append((Path(match.group(1)), int(match.group(2))))
    return written


@dataclass
class Source:
    """A source's browser (its own cookies), codename and id."""

    client: FlaskClient
    codename: str
    id: str = ""
    submissions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredEnvelope:
    submission: str
    item: int
    kind: str
    path: Path


class Intake:
    """An intake data directory, `tamga-intake` on it, and its app through Flask's test client."""

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
        self._source: Source | None = None

    # keys
    @property
    def settings(self) -> Settings:
        return load_settings(self.root)

    @property
    def key(self) -> SigningKey:
        return load_signing_key(self.settings.data_dir)

    def server_key(self) -> str:
        return last_token(self.ok("server-key"))

    # the CLI
    def run(self, command: str, *args: str | Path) -> Result:
        return invoke(intake_cli, [command, "--data-dir", str(self.root), *args])

    def ok(self, command: str, *args: str | Path) -> Result:
        return assert_ok(self.run(command, *args))

    def export(self, out: Path, *args: str) -> Result:
        return self.run("export", "--out", out, *args)

    def export_ok(self, out: Path, *args: str) -> list[tuple[Path, int]]:
        """Export; return (bundle, envelope count) for each bundle written."""
        return exported(assert_ok(self.export(out, *args)))

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
        return Source(client, new_source(client))

    @property
    def client(self) -> FlaskClient:
        """The browser of this intake's own source (made on first use)."""
        if self._source is None:
            self._source = self.new_source()
        return self._source.client

    def submit(self, message: str = "", files: Sequence[FileSpec] = ()) -> str:
        """One submission by this intake's own source; return its submission id."""
        assert self.client
        assert self._source is not None
        return self.submit_as(self._source, message, files)

    def submit_as(self, source: Source, message: str, files: Sequence[FileSpec] = ()) -> str:
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
            self._source = None

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

    def envelopes(self) -> list[StoredEnvelope]:
        assert self.app  # the app creates the tables
        rows = self.query(
            "SELECT submission_id, item, kind, storage_name FROM envelopes ORDER BY submission_id, item"
        )
        return [StoredEnvelope(s, i, k, self.store / name) for s, i, k, name in rows]

    def days(self) -> set[str]:
        return {day for (day,) in self.query("SELECT day FROM submissions")}

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


# --- making one, and the air gap between it and a station -------------------------------------


def make_intake(root: Path, recipients: Sequence[X25519Recipient]) -> Intake:
    """A data directory made by submission.datadir, sealing to `recipients`."""
    create_data_dir(root, list(recipients))
    return Intake(root)


def init_intake(root: Path, station: Station | None, *station_keys: str) -> Intake:
    """`tamga-intake init` sealing to the station (pinning the station keys given, if any)."""
    recipient = last_token(station.ok("pubkey")) if station else None
    args = ["--recipient", recipient] if recipient else []
    for key in station_keys:
        args += ["--station-key", key]
    intake = Intake(root)
    intake.ok("init", *args)
    return intake


def pin(station: Station, intake: Intake) -> None:
    """The station trusts the intake's signing key."""
    station.ok("trust-server", str(intake.key.verify_key))


def deliver(station: Station, intake: Intake, bundle: Path) -> int:
    """Export what is new on the intake and import it on the station; return the envelope count."""
    ((_, count),) = intake.export_ok(bundle)
    station.ok("import", str(bundle))
    return count


def stocked_station(template: Station, root: Path, *submissions: tuple[str, Sequence[FileSpec]]) -> Station:
    """A copy of template holding these submissions (message, files) of one source, imported."""
    station = template.copy_to(root / "station")
    intake = make_intake(root / "intake", [station.recipient])
    pin(station, intake)
    for message, files in submissions:
        intake.submit(message, files)
    deliver(station, intake, root / "bundle.tar")
    intake.close()
    return station


def read_outbox(path: Path, station_key: str) -> dict[str, Any]:
    """The verified manifest document of an outbox."""
    with open(path, "rb") as src:
        reader = BundleReader(src)
        manifest = reader.manifest(OUTBOX_CONTEXT, [VerifyKey.parse(station_key)])
        return dict(manifest.document)
