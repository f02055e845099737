"""`tamga-review` and `tamga-intake` run in-process, a station directory driven by its CLI, fast unlocks.

The CLIs run through click's CliRunner, stdout and stderr kept apart. `CliStation` is a station
directory and `tamga-review --station DIR` run on it; each suite subclasses it with its own
passphrase and actor, and adds what it reads of the station.

Unlocking a station costs two scrypt (2^18) derivations, about a second. `unlock_cache()` wraps
`Station.unlock` in a cache keyed on the key files, station.json and the passphrase typed: the first
unlock of each key set is real (a wrong passphrase is always real: it never hits the cache), later
ones reuse the keys. Each suite's conftest turns it on with a session fixture of its own.
"""

import gc
import hashlib
import json
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

Passphrase = str | EllipsisType | None  # `...`: the station's own PASSPHRASE; None: unset


class CliStation:
    """A station directory and `tamga-review` run on it.

    Subclasses set PASSPHRASE (TAMGA_PASSPHRASE for every command unless `passphrase` is given;
    None leaves it unset) and ACTOR (TAMGA_ACTOR). TAMGA_STATION is always unset.
    """

    PASSPHRASE: ClassVar[str]
    ACTOR: ClassVar[str]

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, root: Path) -> Self:
        """`tamga-review init` in `root`, its WAL folded in so that it can be copied."""
        station = cls(root)
        station.ok("init")
        station.checkpoint()
        return station

    def run(self, *args: object, stdin: str | None = None, passphrase: Passphrase = ...) -> Result:
        env = {
            "TAMGA_PASSPHRASE": self.PASSPHRASE if passphrase is ... else passphrase,
            "TAMGA_ACTOR": self.ACTOR,
            "TAMGA_STATION": None,
        }
        return invoke(review_cli, ["--station", self.root, *args], env, stdin)

    def ok(self, *args: object, stdin: str | None = None, passphrase: Passphrase = ...) -> Result:
        return assert_ok(self.run(*args, stdin=stdin, passphrase=passphrase))

    @property
    def recipient(self) -> AnyRecipient:
        return parse_recipient(json.loads((self.root / PUBLIC_FILE).read_text())["recipient"])

    def items(self, *filters: object) -> list[dict[str, Any]]:
        """`list --json`, with any of its filters."""
        return list(json.loads(self.ok("list", "--json", *filters).stdout))

    def head(self) -> str:
        return self.ok("custody", "head").stdout.strip()

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "catalogue.sqlite")

    def checkpoint(self) -> None:
        """Fold the WAL into the database file so the directory can be copied."""
        gc.collect()  # engines of earlier in-process commands release their connections
        con = self.db()
        try:
            busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        finally:
            con.close()

    def copy_to(self, dest: Path) -> Self:
        self.checkpoint()
        shutil.copytree(self.root, dest, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
        return type(self)(dest)


# --- unlocking once per key set -------------------------------------------------------------

_KEYS: dict[str, Keys] = {}
_real_unlock = ReviewStation.unlock


def _cached_unlock(station: ReviewStation, passphrase: Callable[[], str], check_station: bool) -> Keys:
    if check_station:
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
def unlock_cache(check_station: bool = True) -> Iterator[None]:
    """`Station.unlock` served from the cache until the block ends (for a session fixture).

    With `check_station` off, the station directory is not read before the passphrase is asked.
    """

    def unlock(self: ReviewStation, passphrase: Callable[[], str]) -> Keys:
        return _cached_unlock(self, passphrase, check_station)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReviewStation, "unlock", unlock)
        yield
