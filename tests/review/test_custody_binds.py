"""Custody that binds: a swapped vault file and every edited catalogue row are caught, each by name."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto import seal_bytes
from tests.support.bundles import sha256
from tests.support.intake import stocked_station
from tests.support.station import Station, assert_refused

MESSAGE = "Observers were not let in at PS 112 until 09:40."
PHOTO = b"\xff\xd8\xff\xe0 a protocol photo " * 3000
SCAN = b"%PDF-1.4 the protocol of PS 112\n" * 200


@dataclass(frozen=True)
class Loaded:
    station: Station
    message: int
    photo: int
    scan: int
    copy_of_photo: int


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Iterator[Loaded]:
    """Two submissions (the photo sent twice), tagged, a status set, a note, a package written."""
    tmp = tmp_path_factory.mktemp("binds")
    first = [(PHOTO, "photo.jpg", "image/jpeg"), (SCAN, "scan.pdf", "application/pdf")]
    again = [(PHOTO, "again.jpg", "image/jpeg")]
    station = stocked_station(station_template, tmp, (MESSAGE, first), ("", again))
    items = station.items()
    message = next(i["id"] for i in items if i["kind"] == "message")
    photo, again = sorted(i["id"] for i in items if i["sha256"] == sha256(PHOTO))
    scan = next(i["id"] for i in items if i["sha256"] == sha256(SCAN))
    station.ok(
        "tag", photo, "--incident", "ballot.stuffing", "--tag", "night", "--tag", "ps112",
        "--polling-station", "112", "--region", "Almaty", "--settlement", "Medeu",
        "--when", "2024-03-17T14:02+05:00",
    )  # fmt: skip
    station.ok("status", photo, "verified")
    station.ok("note", photo, "--text", "Matches the protocol photo of PS 112")
    station.ok("package", photo, scan, "--out", tmp / "package.tar")
    yield Loaded(station, message, photo, scan, again)


@pytest.fixture
def station(tmp_path: Path, loaded: Loaded) -> Station:
    return loaded.station.copy_to(tmp_path / "station")


def verify(station: Station, *args: str) -> str:
    """`custody verify` refused: its one line."""
    return assert_refused(
        station.run("custody", "verify", *args, passphrase=None), "differs from the custody log"
    )


def envelope_of(station: Station, item_id: int) -> str:
    return next(i["envelope_sha256"] for i in station.items() if i["id"] == item_id)


def vault_path(station: Station, digest: str) -> Path:
    return station.vault / digest[:2] / f"{digest}.age"


def forge(station: Station, item_id: int, plaintext: bytes) -> None:
    """Replace the item's vault file with another envelope sealed to the station's own recipient."""
    vault_path(station, envelope_of(station, item_id)).write_bytes(seal_bytes(plaintext, [station.recipient]))


def test_an_untouched_station_verifies_deep(loaded: Loaded, station: Station) -> None:
    result = station.ok("custody", "verify", "--deep", passphrase=None)
    assert (
        result.stdout.splitlines()[1]
        == "vault verified: the envelopes of 4 items re-hashed, each as recorded"
    )


def test_a_swapped_file_envelope_is_refused_by_extract(
    tmp_path: Path, loaded: Loaded, station: Station
) -> None:
    forge(station, loaded.scan, b"%PDF-1.4 a forged protocol\n" * 200)
    out = tmp_path / "scan.pdf"
    assert_refused(
        station.run("extract", loaded.scan, "--out", out), f"item {loaded.scan}", "not the envelope recorded"
    )
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "station"]  # no .part left
    assert_refused(station.run("show", loaded.scan, passphrase=None), "not the envelope recorded at import")
    station.ok("custody", "verify", passphrase=None)  # the catalogue itself is untouched
    line = verify(station, "--deep")
    assert f"item {loaded.scan}: the vault file of its envelope {envelope_of(station, loaded.scan)}" in line
    assert "extracted" not in station.ok("custody", "show", loaded.scan).stdout


def test_a_swapped_message_envelope_is_refused_by_show(loaded: Loaded, station: Station) -> None:
    forge(station, loaded.message, b"Nothing happened at PS 112.")
    line = assert_refused(station.run("show", loaded.message), "not the envelope recorded at import")
    assert "Nothing happened" not in line
    assert "opened" not in station.ok("custody", "show", loaded.message).stdout
    assert "vault file of its envelope" in verify(station, "--deep")


def test_a_swapped_envelope_renamed_to_match_an_edited_catalogue_is_refused(
    tmp_path: Path, loaded: Loaded, station: Station
) -> None:
    """The forger also edits the catalogue's hashes to the forgery's: the signed import record wins."""
    forged_plain = b"%PDF-1.4 a forged protocol\n" * 200
    forged = seal_bytes(forged_plain, [station.recipient])
    path = vault_path(station, sha256(forged))
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(forged)
    con = station.db()
    with con:
        con.execute(
            "UPDATE items SET envelope_sha256 = ?, content_sha256 = ?, size = ? WHERE id = ?",
            (sha256(forged), sha256(forged_plain), len(forged_plain), loaded.scan),
        )
    con.close()
    out = tmp_path / "scan.pdf"
    assert_refused(station.run("extract", loaded.scan, "--out", out), "not the one signed at import")
    assert not out.exists()
    line = verify(station)
    assert f"item {loaded.scan}: envelope_sha256 is '{sha256(forged)}' in the catalogue" in line
    assert f"item {loaded.scan}: content_sha256 is '{sha256(forged_plain)}'" in line


def test_an_edited_content_hash_is_refused_by_extract_and_verify(
    tmp_path: Path, loaded: Loaded, station: Station
) -> None:
    sql(station, "UPDATE items SET content_sha256 = ? WHERE id = ?", "e" * 64, loaded.scan)
    assert_refused(station.run("extract", loaded.scan, "--out", tmp_path / "x"), "content_sha256")
    assert f"item {loaded.scan}: content_sha256 is '{'e' * 64}' in the catalogue" in verify(station)


def sql(station: Station, statement: str, *parameters: object) -> None:
    con = station.db()
    with con:
        con.execute(statement, parameters)
    con.close()


# (what is edited, how, what the one line names)
Edit = Callable[[Loaded], tuple[str, tuple[object, ...]]]
EDITS: dict[str, tuple[Edit, Callable[[Loaded], str]]] = {
    "status": (
        lambda s: ("UPDATE items SET status = 'rejected' WHERE id = ?", (s.photo,)),
        lambda s: f"item {s.photo}: status is 'rejected' in the catalogue, 'verified' in the custody log",
    ),
    "region": (
        lambda s: ("UPDATE items SET region = 'Astana' WHERE id = ?", (s.photo,)),
        lambda s: f"item {s.photo}: region is 'Astana' in the catalogue, 'Almaty' in the custody log",
    ),
    "polling station": (
        lambda s: ("UPDATE items SET polling_station = '113' WHERE id = ?", (s.photo,)),
        lambda s: f"item {s.photo}: polling_station is '113'",
    ),
    "settlement": (
        lambda s: ("UPDATE items SET settlement = NULL WHERE id = ?", (s.photo,)),
        lambda s: f"item {s.photo}: settlement is None in the catalogue, 'Medeu' in the custody log",
    ),
    "time": (
        lambda s: ("UPDATE items SET incident_time = '2024-03-17T15:02:00+05:00' WHERE id = ?", (s.photo,)),
        lambda s: f"item {s.photo}: incident_time is '2024-03-17T15:02:00+05:00'",
    ),
    "a status of an untagged item": (
        lambda s: ("UPDATE items SET status = 'verified' WHERE id = ?", (s.scan,)),
        lambda s: f"item {s.scan}: status is 'verified' in the catalogue, 'new' in the custody log",
    ),
    "duplicate link removed": (
        lambda s: ("UPDATE items SET duplicate_of = NULL WHERE id = ?", (s.copy_of_photo,)),
        lambda s: (
            f"item {s.copy_of_photo}: duplicate_of is None in the catalogue, {s.photo} in the custody log"
        ),
    ),
    "working copy link added": (
        lambda s: ("UPDATE items SET derived_from = ? WHERE id = ?", (s.photo, s.scan)),
        lambda s: f"item {s.scan}: derived_from is {s.photo} in the catalogue, None in the custody log",
    ),
    "deleted item": (
        lambda s: ("DELETE FROM items WHERE id = ?", (s.scan,)),
        lambda s: f"item {s.scan} is missing from the catalogue, but its custody events record it",
    ),
    "deleted tag": (
        lambda s: ("DELETE FROM item_tags WHERE item_id = ? AND tag = 'night'", (s.photo,)),
        lambda s: (
            f"item {s.photo}: tag 'night' is recorded in the custody log but missing from the catalogue"
        ),
    ),
    "added tag": (
        lambda s: ("INSERT INTO item_tags (item_id, tag) VALUES (?, 'staged')", (s.scan,)),
        lambda s: f"item {s.scan}: tag 'staged' is in the catalogue but no custody event records it",
    ),
    "deleted incident": (
        lambda s: ("DELETE FROM item_incidents WHERE item_id = ?", (s.photo,)),
        lambda s: f"item {s.photo}: incident 'ballot.stuffing' is recorded in the custody log but missing",
    ),
    "edited note": (
        lambda s: ("UPDATE notes SET text = 'Does not match' WHERE item_id = ?", (s.photo,)),
        lambda s: "text is not the one the custody log records",
    ),
    "deleted note": (
        lambda s: ("DELETE FROM notes WHERE item_id = ?", (s.photo,)),
        lambda s: "is recorded in the custody log but missing",
    ),
    "added item": (
        lambda s: (
            "INSERT INTO items (id, kind, status, envelope_sha256, envelope_size, submission, item_no,"
            " source_id, reply_recipient, received, bundle, imported_at)"
            " SELECT 99, kind, 'new', ?, envelope_size, submission, 9, source_id, reply_recipient,"
            " received, bundle, imported_at FROM items WHERE id = ?",
            ("d" * 64, s.scan),
        ),
        lambda s: "item 99 is in the catalogue, but no custody event records its import",
    ),
}


@pytest.mark.parametrize("what", EDITS)
def test_verify_names_each_edited_row(loaded: Loaded, station: Station, what: str) -> None:
    edit, says = EDITS[what]
    statement, parameters = edit(loaded)
    station.ok("custody", "verify", passphrase=None)
    sql(station, statement, *parameters)
    assert says(loaded) in verify(station)


def test_an_edited_object_column_is_caught(loaded: Loaded, station: Station) -> None:
    con = station.db()
    (seq,) = con.execute(
        "SELECT max(seq) FROM custody_events WHERE object = ?", (f"item:{loaded.photo}",)
    ).fetchone()
    con.close()
    sql(station, "UPDATE custody_events SET object = ? WHERE seq = ?", f"item:{loaded.scan}", seq)
    line = assert_refused(
        station.run("custody", "verify", passphrase=None), f"custody log broken at event {seq}"
    )
    assert f"object column says 'item:{loaded.scan}', its signed record 'item:{loaded.photo}'" in line


def test_the_packaged_event_changes_no_row(loaded: Loaded) -> None:
    history = loaded.station.ok("custody", "show", loaded.scan, passphrase=None).stdout
    assert " packaged " in history
    loaded.station.ok("custody", "verify", "--deep", passphrase=None)


def test_every_difference_is_named_in_one_line(loaded: Loaded, station: Station) -> None:
    sql(station, "UPDATE items SET region = 'Astana', status = 'new' WHERE id = ?", loaded.photo)
    line = verify(station)
    assert "region is 'Astana'" in line and "status is 'new'" in line
