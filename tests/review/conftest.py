"""Fixtures for the air gap: a review station driven through its CLI, an intake that seals to it.

Unlocking a station costs two scrypt (2^18) derivations, about a second. To keep the suite fast,
`Station.unlock` is wrapped for the whole session by tests/support/station.py's cache, keyed on the
key files, station.json and the passphrase typed: the first unlock of each station key set is real
(a wrong passphrase is always real: it never hits the cache), later ones reuse the keys. Station
directories are copied from a template created once per session by `tamga-review init`. The
subprocess test in test_network.py runs every command with real unlocks.
"""

import datetime
import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from crypto import _tar
from crypto.bundle import encode_manifest
from crypto.signing import SigningKey
from crypto.x25519 import X25519Recipient
from submission.app import create_app
from submission.cli import cli as intake_cli
from submission.datadir import create_data_dir
from submission.export import CONTEXT as EXPORT_CONTEXT
from submission.settings import load_settings, load_signing_key
from tests.intake.conftest import FileSpec, new_source
from tests.support.intake import exported, submit_form
from tests.support.station import CliStation, assert_ok, invoke, unlock_cache

PASSPHRASE = "correct horse battery staple"
ACTOR = "tester"

CUSTODY_ACTIONS = ("imported", "quarantined", "opened", "extracted")


def custody_actions(history: str) -> list[str]:
    """The actions in `custody show` output that this issue defines (later issues add others)."""
    return [a for a in (line.split()[2] for line in history.splitlines()) if a in CUSTODY_ACTIONS]


# --- the station ----------------------------------------------------------------------------


class Station(CliStation):
    """A station directory and its CLI."""

    PASSPHRASE = PASSPHRASE
    ACTOR = ACTOR

    @property
    def vault(self) -> Path:
        return self.root / "vault"

    def items(self, status: str | None = None) -> list[dict[str, Any]]:  # type: ignore[override]
        return super().items(*(["--status", status] if status else []))

    def snapshot(self) -> dict[str, Any]:
        """Every catalogue row that an import could touch, and every file under the vault."""
        con = self.db()
        try:
            rows = {
                table: con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
                for table in ("items", "imported_bundles", "trusted_servers", "custody_events")
            }
        finally:
            con.close()
        files = sorted(
            (str(p.relative_to(self.vault)), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in self.vault.rglob("*")
            if p.is_file()
        )
        return {"rows": rows, "vault": files}

    def assert_clean(self, before: dict[str, Any]) -> None:
        """Nothing imported: catalogue and vault unchanged, no staging left behind."""
        assert self.snapshot() == before
        assert not (self.vault / ".staging").exists()


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


# --- the intake -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEnvelope:
    submission: str
    item: int
    kind: str
    path: Path


class Intake:
    """An intake data directory, its app (through Flask's test client) and `tamga-intake export`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings = load_settings(root)
        self.key: SigningKey = load_signing_key(self.settings.data_dir)
        self._app: Flask | None = None
        self._client: FlaskClient | None = None

    @property
    def client(self) -> FlaskClient:
        if self._client is None:
            self._app = create_app(load_settings(self.root))
            self._app.config["TESTING"] = True
            self._client = self._app.test_client()
            new_source(self._client)
        return self._client

    def submit(self, message: str = "", files: Sequence[FileSpec] = ()) -> None:
        """One submission by this intake's source, as a browser without JavaScript sends it."""
        submit_form(self.client, message, files)

    def export(self, out: Path, *args: str) -> Result:
        return invoke(intake_cli, ["export", "--data-dir", self.root, "--out", out, *args])

    def export_ok(self, out: Path, *args: str) -> list[tuple[Path, int]]:
        """Export; return (bundle, envelope count) for each bundle written."""
        return exported(assert_ok(self.export(out, *args)))

    def envelopes(self) -> list[StoredEnvelope]:
        assert self.client  # the app creates the tables
        con = sqlite3.connect(self.root / "intake.sqlite")
        try:
            rows = con.execute(
                "SELECT submission_id, item, kind, storage_name FROM envelopes ORDER BY submission_id, item"
            ).fetchall()
        finally:
            con.close()
        return [StoredEnvelope(s, i, k, self.root / "store" / name) for s, i, k, name in rows]

    def days(self) -> set[str]:
        con = sqlite3.connect(self.root / "intake.sqlite")
        try:
            return {day for (day,) in con.execute("SELECT day FROM submissions")}
        finally:
            con.close()

    def close(self) -> None:
        if self._app is not None:
            self._app.extensions["tamga.engine"].dispose()


def make_intake(root: Path, recipients: Sequence[X25519Recipient]) -> Intake:
    create_data_dir(root, list(recipients))
    return Intake(root)


def pin(station: Station, intake: Intake) -> None:
    station.ok("trust-server", str(intake.key.verify_key))


@pytest.fixture
def intake(tmp_path: Path, station: Station) -> Iterator[Intake]:
    """An intake sealing to `station`, whose signing key the station has pinned."""
    made = make_intake(tmp_path / "intake", [station.recipient])
    pin(station, made)
    yield made
    made.close()


# --- bundles by hand ------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def manifest_entry(envelope: bytes, kind: str = "message", item: int = 0, **changes: Any) -> dict[str, Any]:
    """A manifest entry as submission/export.py writes it."""
    entry = {
        "sha256": sha256(envelope),
        "size": len(envelope),
        "kind": kind,
        "submission": "5" * 32,
        "item": item,
        "source": "a" * 32,
        "reply_recipient": "age1zvz06jf2zd4xl8kfyj8m5k7h7x5xt84dg7camee6xaam7nw92vzqhavn4g",
        "received": today(),
    }
    entry.update(changes)
    return entry


def manifest_document(
    key: SigningKey, receivers: Sequence[X25519Recipient], sequence: int, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    """The document layout of submission/export.py `_document`."""
    return {
        "format": "tamga-bundle/v1",
        "kind": "export",
        "sender": key.verify_key.key_id,
        "receivers": sorted(str(r) for r in receivers),
        "sequence": sequence,
        "created": today(),
        "envelopes": entries,
    }


def sealed_manifest(
    document: dict[str, Any],
    key: SigningKey,
    seal_to: Sequence[X25519Recipient],
    context: str = EXPORT_CONTEXT,
) -> tuple[str, bytes]:
    return encode_manifest(document, key, context, list(seal_to))


def tar_header(
    name: bytes, size: int, typeflag: bytes = b"0", prefix: bytes = b"", link: bytes = b""
) -> bytes:
    """A ustar header with a correct checksum, for names and types our writer refuses to make."""
    header = bytearray(_tar.member_header("x", size))
    header[0:100] = name.ljust(100, b"\x00")[:100]
    header[156:157] = typeflag
    header[157:257] = link.ljust(100, b"\x00")[:100]
    header[345:500] = prefix.ljust(155, b"\x00")[:155]
    return with_checksum(header)


def with_checksum(header: bytes | bytearray) -> bytes:
    header = bytearray(header)
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def member(name: str, data: bytes) -> bytes:
    return _tar.member_header(name, len(data)) + data + _tar.padding(len(data))


def raw_member(header: bytes, data: bytes) -> bytes:
    return header + data + _tar.padding(len(data))


def tar(*members: bytes, end: bytes = _tar.end_of_archive()) -> bytes:
    return b"".join(members) + end


@dataclass(frozen=True)
class Layout:
    """Where one member of a bundle lies: its header block, its data, its zero padding."""

    name: str
    header: int
    data: int
    size: int

    @property
    def padding(self) -> int:
        return self.data + self.size

    @property
    def padding_size(self) -> int:
        return -self.size % 512


def tar_layout(bundle: bytes) -> tuple[list[Layout], int]:
    """Members of a bundle and the offset of its end-of-archive blocks."""
    members, offset = [], 0
    while bundle[offset : offset + 512] != bytes(512):
        block = bundle[offset : offset + 512]
        size = int(block[124:136].rstrip(b"\x00"), 8)
        name = block[:100].rstrip(b"\x00").decode()
        members.append(Layout(name, offset, offset + 512, size))
        offset += 512 + size + (-size % 512)
    return members, offset


def flip(data: bytes, offset: int, bit: int = 0) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 1 << bit
    return bytes(changed)
