"""The chain of custody: verify passes after a loop and names the first broken event on tampering."""

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.bundles import sha256
from tests.support.intake import make_intake, pin
from tests.support.station import Station, assert_refused, custody_actions

MESSAGE = "Protocol of PS 4 was rewritten in pencil."
PHOTO = b"\xff\xd8\xff\xe0 fake jpeg " * 2000


@dataclass(frozen=True)
class Loop:
    station: Station
    message_id: int
    photo_id: int
    events: int


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Iterator[Loop]:
    """A station after a whole loop: created, exported, imported, opened, extracted."""
    tmp = tmp_path_factory.mktemp("custody")
    station = station_template.copy_to(tmp / "station")
    intake = make_intake(tmp / "intake", [station.recipient])
    pin(station, intake)
    intake.submit(MESSAGE, [(PHOTO, "photo.jpg", "image/jpeg")])
    station.ok("import", intake.export_ok(tmp / "b.tar")[0][0])
    intake.close()
    items = {i["kind"]: i["id"] for i in station.items()}
    station.ok("show", items["message"])
    station.ok("extract", items["file"], "--out", tmp / "photo.jpg")
    con = station.db()
    (events,) = con.execute("SELECT count(*) FROM custody_events").fetchone()
    con.close()
    assert events >= 6
    yield Loop(station, items["message"], items["file"], events)


@pytest.fixture
def copy(tmp_path: Path, loop: Loop) -> Station:
    return loop.station.copy_to(tmp_path / "station")


def actions(station: Station, item_id: int) -> list[str]:
    return custody_actions(station.ok("custody", "show", item_id).stdout)


def test_verify_passes_after_a_loop_without_a_passphrase(loop: Loop) -> None:
    result = loop.station.ok("custody", "verify", passphrase=None)
    head = loop.station.head()
    assert result.stdout.strip() == f"custody log verified: {loop.events} events, head {head}"
    assert loop.station.ok("custody", "verify", "--head", head, passphrase=None)


def test_head_prints_64_hex(loop: Loop) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}\n", loop.station.ok("custody", "head", passphrase=None).stdout)


def test_show_lists_an_items_history(loop: Loop) -> None:
    photo = loop.station.ok("custody", "show", loop.photo_id, passphrase=None).stdout
    assert actions(loop.station, loop.photo_id) == ["imported", "extracted"]
    assert sha256(PHOTO) in photo
    assert " tester " in photo  # the self-declared actor
    assert actions(loop.station, loop.message_id) == ["imported", "opened"]
    assert_refused(loop.station.run("custody", "show", 999), "no item 999")


def record(con: sqlite3.Connection, seq: int) -> tuple[str, str]:
    return con.execute("SELECT record, hash FROM custody_events WHERE seq = ?", (seq,)).fetchone()


def edit_record(con: sqlite3.Connection, seq: int) -> None:
    text, _ = record(con, seq)
    assert '"actor":"tester"' in text
    con.execute(
        "UPDATE custody_events SET record = ? WHERE seq = ?",
        (text.replace('"actor":"tester"', '"actor":"tesTer"'), seq),
    )


def edit_time(con: sqlite3.Connection, seq: int) -> None:
    text, _ = record(con, seq)
    changed = re.sub(r'"time":"(\d)', lambda m: f'"time":"{(int(m.group(1)) + 1) % 10}', text)
    assert changed != text
    con.execute("UPDATE custody_events SET record = ? WHERE seq = ?", (changed, seq))


def edit_hash(con: sqlite3.Connection, seq: int) -> None:
    con.execute("UPDATE custody_events SET hash = ? WHERE seq = ?", ("f" * 64, seq))


def delete(con: sqlite3.Connection, seq: int) -> None:
    con.execute("DELETE FROM custody_events WHERE seq = ?", (seq,))


def swap(con: sqlite3.Connection, seq: int) -> None:
    """Swap the records of events seq and seq + 1 (rows keep their numbers)."""
    first, second = record(con, seq), record(con, seq + 1)
    con.execute(
        "UPDATE custody_events SET hash = 'swap-' || seq WHERE seq IN (?, ?)", (seq, seq + 1)
    )  # unique
    con.execute("UPDATE custody_events SET record = ?, hash = ? WHERE seq = ?", (*second, seq))
    con.execute("UPDATE custody_events SET record = ?, hash = ? WHERE seq = ?", (*first, seq + 1))


def renumber(con: sqlite3.Connection, seq: int) -> None:
    """Swap the sequence numbers of two rows, so they are read in the other order."""
    con.execute("UPDATE custody_events SET seq = -1 WHERE seq = ?", (seq,))
    con.execute("UPDATE custody_events SET seq = ? WHERE seq = ?", (seq, seq + 1))
    con.execute("UPDATE custody_events SET seq = ? WHERE seq = -1", (seq + 1,))


# (tamper, which event, which event the message names, what it says)
TAMPERING: dict[str, tuple[Callable[[sqlite3.Connection, int], None], Callable[[int], int], int, str]] = {
    "edited record": (edit_record, lambda n: n // 2, 0, "signature does not verify"),
    "edited time": (edit_time, lambda n: n - 1, 0, "signature does not verify"),
    "edited last record": (edit_record, lambda n: n, 0, "signature does not verify"),
    "edited stored hash": (edit_hash, lambda n: 3, 0, "stored hash is wrong"),
    "deleted middle event": (delete, lambda n: n // 2, 1, "missing or out of order"),
    "deleted first event": (delete, lambda n: 1, 1, "missing or out of order"),
    "swapped records": (swap, lambda n: n // 2, 0, "missing or out of order"),
    "renumbered rows": (renumber, lambda n: 2, 0, "missing or out of order"),
}


@pytest.mark.parametrize("how", TAMPERING)
def test_verify_names_the_first_broken_event(copy: Station, loop: Loop, how: str) -> None:
    tamper, which, offset, says = TAMPERING[how]
    seq = which(loop.events)
    con = copy.db()
    with con:
        tamper(con, seq)
    con.close()
    line = assert_refused(copy.run("custody", "verify", passphrase=None), says)
    assert f"custody log broken at event {seq + offset}:" in line


def test_truncated_log_is_caught_with_a_head_kept_elsewhere(copy: Station, loop: Loop) -> None:
    kept = copy.head()
    con = copy.db()
    with con:
        con.execute("DELETE FROM custody_events WHERE seq > ?", (loop.events - 2,))
    con.close()
    copy.ok("custody", "verify", passphrase=None)  # on its own, a shorter log still verifies
    assert copy.head() != kept
    assert_refused(
        copy.run("custody", "verify", "--head", kept, passphrase=None), "does not contain head", kept
    )
    assert_refused(
        copy.run("custody", "verify", "--head", "0" * 63 + "1", passphrase=None), "does not contain head"
    )


def test_truncated_log_message_names_the_first_missing_event(copy: Station, loop: Loop) -> None:
    kept = copy.head()
    con = copy.db()
    with con:
        con.execute("DELETE FROM custody_events WHERE seq > ?", (loop.events - 2,))
    con.close()
    line = assert_refused(copy.run("custody", "verify", "--head", kept, passphrase=None))
    assert f"event {loop.events - 1}" in line


def test_verify_needs_no_passphrase_file_or_prompt(copy: Station) -> None:
    """With no TAMGA_PASSPHRASE, no --passphrase-file and no terminal, verify still runs."""
    result = copy.run("custody", "verify", passphrase=None)
    assert result.exit_code == 0, result.output
    assert "passphrase" not in result.output.lower()
