"""The station driver: `tamga-review` and `tamga-intake` run in-process, a station directory driven
by its CLI, and the session cache of station unlocks.

The CLIs run through click's CliRunner, stdout and stderr kept apart. `Station` is a station
directory and `tamga-review --station DIR` run on it, with what the suites read of it (the
catalogue, the vault, the custody log, the outbox).

Unlocking a station costs two scrypt (2^18) derivations, about a second. `unlock_cache()` wraps
`Station.unlock` in a cache keyed on the key files, station.json and the passphrase typed: the first
unlock of each key set is real (a wrong passphrase is always real: it never hits the cache), later
ones reuse the keys. tests/conftest.py turns it on for the whole session.
"""

import gc
import hashlib
import json
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import EllipsisType
from typing import Any, ClassVar, Self

import click
import pytest
from click.testing import CliRunner, Result

from crypto import AnyRecipient, parse_recipient
from review.cli import cli as review_cli
from review.station import IDENTITY_FILE, PUBLIC_FILE, SIGNING_FILE, Keys
from review.station import Station as ReviewStation

# --- running the CLIs -----------------------------------------------------------------------


def invoke(
    command: click.Command,
    args: Sequence[object],
    env: dict[str, str | None] | None = None,
    stdin: str | None = None,
) -> Result:
    """Run a click command in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(command, [str(a) for a in args], input=stdin, env=env, catch_exceptions=True)


def assert_ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output} {result.exception!r}"
    return result


def assert_refused(result: Result, *needles: str, ignore_case: bool = True) -> str:
    """Exit 1 with exactly one line on stderr (a refusal, not a crash); return that line.

    The line starts with `Error: ` and holds every needle (in any case, unless `ignore_case` is off).
    """
    assert result.exit_code == 1, f"expected a refusal, got {result.exit_code}: {result.output}"
    assert isinstance(result.exception, SystemExit), f"crashed instead of refusing: {result.exception!r}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"a refusal is one line: {result.stderr!r}"
    assert lines[0].startswith("Error: "), lines[0]
    for needle in needles:
        found = needle.lower() in lines[0].lower() if ignore_case else needle in lines[0]
        assert found, f"{needle!r} not in {lines[0]!r}"
    return lines[0]


# --- a station directory and its CLI --------------------------------------------------------

PASSPHRASE = "correct horse battery staple"
ACTOR = "tester"
CUSTODY_ACTIONS = ("imported", "quarantined", "opened", "extracted")

Passphrase = str | EllipsisType | None  # `...`: the station's own PASSPHRASE; None: unset


def custody_actions(history: str) -> list[str]:
    """The actions in `custody show` output that the import issue defines (later issues add others)."""
    return [a for a in (line.split()[2] for line in history.splitlines()) if a in CUSTODY_ACTIONS]


def last_token(result: Result) -> str:
    """The last word a command printed (a key, a path)."""
    return result.stdout.strip().splitlines()[-1].split()[-1]


class Station:
    """A station directory and `tamga-review` run on it.

    Every command gets TAMGA_PASSPHRASE (PASSPHRASE unless `passphrase` is given; None leaves it
    unset) and TAMGA_ACTOR (ACTOR); TAMGA_STATION is always unset.
    """

    PASSPHRASE: ClassVar[str] = PASSPHRASE
    ACTOR: ClassVar[str] = ACTOR

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, root: Path) -> Self:
        """`tamga-review init` in `root`, its WAL folded in so that it can be copied."""
        station = cls(root)
        station.ok("init")
        station.checkpoint()
        return station

    def copy_to(self, dest: Path) -> Self:
        self.checkpoint()
        shutil.copytree(self.root, dest, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
        return type(self)(dest)

    # the CLI
    def run(self, *args: object, stdin: str | None = None, passphrase: Passphrase = ...) -> Result:
        env = {
            "TAMGA_PASSPHRASE": self.PASSPHRASE if passphrase is ... else passphrase,
            "TAMGA_ACTOR": self.ACTOR,
            "TAMGA_STATION": None,
        }
        return invoke(review_cli, ["--station", self.root, *args], env, stdin)

    def ok(self, *args: object, stdin: str | None = None, passphrase: Passphrase = ...) -> Result:
        return assert_ok(self.run(*args, stdin=stdin, passphrase=passphrase))

    def refused(self, *args: object, needles: Sequence[str] = ()) -> str:
        """A refusal whose line holds every needle, in case too."""
        return assert_refused(self.run(*args), *needles, ignore_case=False)

    # keys
    @property
    def recipient(self) -> AnyRecipient:
        return parse_recipient(json.loads((self.root / PUBLIC_FILE).read_text())["recipient"])

    def signing_key(self) -> str:
        """The last token of `tamga-review pubkey --signing`: what the intake pins."""
        return last_token(self.ok("pubkey", "--signing"))

    def keys(self) -> Keys:
        return ReviewStation(self.root).unlock(lambda: self.PASSPHRASE)

    # the catalogue
    def items(self, *filters: object) -> list[dict[str, Any]]:
        """`list --json`, with any of its filters."""
        return list(json.loads(self.ok("list", "--json", *filters).stdout))

    def ids(self, *filters: object) -> list[int]:
        return [row["id"] for row in self.items(*filters)]

    def item_of(self, source_id: str, kind: str = "message") -> int:
        return next(int(i["id"]) for i in self.items() if i["source"] == source_id and i["kind"] == kind)

    def show(self, item_id: int) -> dict[str, Any]:
        return dict(json.loads(self.ok("show", item_id, "--json").stdout))

    # the custody log
    def head(self) -> str:
        return self.ok("custody", "head").stdout.strip()

    def custody_actions(self, item_id: int) -> list[str]:
        """The actions of `custody show ID`, in order."""
        return [line.split()[2] for line in self.ok("custody", "show", item_id).stdout.splitlines()]

    def verify(self) -> int:
        """`custody verify`; the number of events it verified."""
        match = re.fullmatch(
            r"custody log verified: (\d+) events, head [0-9a-f]{64}\n", self.ok("custody", "verify").stdout
        )
        assert match
        return int(match.group(1))

    def events(self, obj: str | None = None) -> list[dict[str, Any]]:
        """Custody event bodies straight from the catalogue (optionally for one object)."""
        bodies = [json.loads(record)["document"] for (record,) in self.query(_EVENTS)]
        return [b for b in bodies if obj is None or b["object"] == obj]

    # replies
    def reply(self, item_id: int, text: str) -> int:
        """Reply with --message (the scripted way); return the station's reply number."""
        out = self.ok("reply", str(item_id), "--message", text).stdout
        match = re.match(r"Reply (\d+) to the source of item", out)
        assert match, out
        return int(match.group(1))

    def export_outbox(self, out: Path, *args: str) -> tuple[int, int]:
        """`export-outbox`; the (replies, acknowledgements) it wrote."""
        result = self.ok("export-outbox", "--out", str(out), *args)
        match = re.fullmatch(r".+: (\d+) reply\(ies\), (\d+) acknowledgement\(s\)", result.stdout.strip())
        assert match, result.stdout
        return int(match.group(1)), int(match.group(2))

    # what is on disk
    @property
    def vault(self) -> Path:
        return self.root / "vault"

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "catalogue.sqlite")

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        con = self.db()
        try:
            return con.execute(sql, parameters).fetchall()
        finally:
            con.close()

    def checkpoint(self) -> None:
        """Fold the WAL into the database file so the directory can be copied."""
        gc.collect()  # engines of earlier in-process commands release their connections
        con = self.db()
        try:
            busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        finally:
            con.close()

    def snapshot(self) -> dict[str, Any]:
        """Every catalogue row that an import, a reply or an export could touch, and every file
        under the vault and the outbox."""
        rows = {table: self.query(f"SELECT * FROM {table} ORDER BY 1") for table in _TABLES}  # noqa: S608
        vault = sorted(
            (str(p.relative_to(self.vault)), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in self.vault.rglob("*")
            if p.is_file()
        )
        outbox = self.root / "outbox"
        files = sorted(p.name for p in outbox.iterdir()) if outbox.exists() else []
        return {"rows": rows, "vault": vault, "outbox": files}

    def assert_clean(self, before: dict[str, Any]) -> None:
        """Nothing imported: catalogue and vault unchanged, no staging left behind."""
        assert self.snapshot() == before
        assert not (self.vault / ".staging").exists()


_EVENTS = "SELECT record FROM custody_events ORDER BY seq"
_TABLES = (
    "items",
    "imported_bundles",
    "trusted_servers",
    "custody_events",
    "outbox_replies",
    "outbox_state",
    "vault_envelopes",
)

# --- unlocking once per key set -------------------------------------------------------------

_KEYS: dict[str, Keys] = {}
_real_unlock = ReviewStation.unlock


def _cached_unlock(station: ReviewStation, passphrase: Callable[[], str]) -> Keys:
    station._public()  # not a station: refused before the passphrase is asked, as unlock does
    secret = passphrase()
    token = hashlib.sha256()
    for name in (PUBLIC_FILE, IDENTITY_FILE, SIGNING_FILE):
        token.update((station.root / name).read_bytes())
    token.update(secret.encode())
    digest = token.hexdigest()
    if digest not in _KEYS:
        _KEYS[digest] = _real_unlock(station, lambda: secret)  # raises on a wrong passphrase
    return _KEYS[digest]


@contextmanager
def unlock_cache() -> Iterator[None]:
    """`Station.unlock` served from the cache until the block ends (for a session fixture)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReviewStation, "unlock", _cached_unlock)
        yield
