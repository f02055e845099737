"""Envelope-level faults: a junk envelope is quarantined as `undecryptable`; the rest imports."""

import random
from pathlib import Path

import pytest

from crypto import X25519Identity, seal_bytes
from tests.support.bundles import sha256
from tests.support.intake import Intake
from tests.support.station import Station, assert_ok, assert_refused, custody_actions

GOOD_MESSAGE = "Observers removed from PS 31 at 09:40."
GOOD_FILE = random.Random(31).randbytes(90_000)
GOOD_SCAN = b"%PDF-1.4 scan of protocol 31\n" * 30


def new_submission(intake: Intake, message: str, files: list[tuple[bytes, str, str]]) -> str:
    """Submit; return the new submission's id."""
    before = {e.submission for e in intake.envelopes()}
    intake.submit(message, files)
    (submission,) = {e.submission for e in intake.envelopes()} - before
    return submission


def test_junk_envelopes_are_quarantined_beside_good_ones(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    good = new_submission(intake, GOOD_MESSAGE, [(GOOD_FILE, "good.mp4", "video/mp4")])
    junk_files = [
        (random.Random(n).randbytes(70_000 + n), f"junk-{n}.bin", "application/octet-stream")
        for n in range(4)
    ]
    junk = new_submission(
        intake, "this message will be garbage", [*junk_files, (GOOD_SCAN, "scan.pdf", "application/pdf")]
    )

    # tamper with the sealed envelopes in the intake's store: as a browser sealing junk could
    stored = {(e.item, e.kind): e.path for e in intake.envelopes() if e.submission == junk}
    stored[(0, "message")].write_bytes(random.Random(0).randbytes(500))  # not an age file at all
    other_key = X25519Identity.generate().recipient
    stored[(1, "file-content")].write_bytes(seal_bytes(junk_files[0][0], [other_key]))  # opens for no key
    corrupted = bytearray(stored[(2, "file-content")].read_bytes())
    corrupted[-100] ^= 0x01  # the payload's final chunk fails
    stored[(2, "file-content")].write_bytes(bytes(corrupted))
    truncated = stored[(3, "file-content")].read_bytes()
    stored[(3, "file-content")].write_bytes(truncated[: len(truncated) - 20_000])  # cut inside the payload
    stored[(4, "file-content")].write_bytes(b"")  # an empty envelope

    bundle = intake.export_ok(tmp_path / "b.tar")[0][0]
    result = assert_ok(station.run("import", bundle))
    assert "imported 3 item(s), quarantined 5" in result.stdout
    assert result.stderr.count("undecryptable, quarantined") == 5

    items = station.items()
    by_submission = {s: [i for i in items if i["submission"] == s] for s in (good, junk)}
    assert {i["sha256"] for i in by_submission[good]} == {sha256(GOOD_MESSAGE.encode()), sha256(GOOD_FILE)}
    assert all(i["status"] == "new" for i in by_submission[good])
    scan = [i for i in by_submission[junk] if i["status"] == "new"]
    assert [(i["name"], i["sha256"]) for i in scan] == [("scan.pdf", sha256(GOOD_SCAN))]

    quarantined = [i for i in by_submission[junk] if i["status"] == "undecryptable"]
    assert len(quarantined) == 5
    assert {i["kind"] for i in quarantined} == {"message", "file"}
    assert all(i["sha256"] is None for i in quarantined)
    assert sorted(i["name"] for i in quarantined if i["kind"] == "file") == [
        f"junk-{n}.bin" for n in range(4)
    ]
    assert [i["id"] for i in station.items("--status", "undecryptable")] == [i["id"] for i in quarantined]

    for item in quarantined:
        history = station.ok("custody", "show", item["id"]).stdout
        assert custody_actions(history) == ["quarantined"]
        assert item["envelope_sha256"] in history
        assert_refused(
            station.run("extract", item["id"], "--out", tmp_path / f"out-{item['id']}"), "quarantined"
        )
        # the sealed envelope is kept, as evidence of what arrived
        assert (station.vault / item["envelope_sha256"][:2] / (item["envelope_sha256"] + ".age")).is_file()
    junk_message = next(i for i in quarantined if i["kind"] == "message")
    shown = station.ok("show", junk_message["id"]).stdout
    assert "status: undecryptable" in shown

    good_file = next(i for i in by_submission[good] if i["kind"] == "file")
    station.ok("extract", good_file["id"], "--out", tmp_path / "good.mp4")
    assert (tmp_path / "good.mp4").read_bytes() == GOOD_FILE
    station.ok("custody", "verify")


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(b"\xff\xfe not json", id="not-utf8"),
        pytest.param(b"[1, 2, 3]", id="not-an-object"),
        pytest.param(b'{"name": 7, "type": ["x"]}', id="wrong-types"),
        pytest.param(
            b"[" * 50_000,
            id="deeply-nested",
        ),
    ],
)
def test_hostile_metadata_envelope_does_not_block_the_bundle(
    tmp_path: Path, station: Station, intake: Intake, metadata: bytes
) -> None:
    """A file's metadata envelope (browser-sealed one day) that is junk: the file still imports."""
    submission = new_submission(intake, GOOD_MESSAGE, [(GOOD_SCAN, "scan.pdf", "application/pdf")])
    (path,) = [e.path for e in intake.envelopes() if e.submission == submission and e.kind == "file-metadata"]
    path.write_bytes(seal_bytes(metadata, [station.recipient]))
    bundle = intake.export_ok(tmp_path / "b.tar")[0][0]
    result = station.run("import", bundle)
    assert result.exit_code == 0, f"{result.output} {result.exception!r}"
    (file,) = [i for i in station.items() if i["kind"] == "file"]
    assert file["sha256"] == sha256(GOOD_SCAN)
    assert file["name"] is None
