"""Every outbox the intake must refuse: exit 1, one line on stderr, and nothing changed.

"Nothing changed" is checked on every row an import could touch (sources, submissions, envelopes,
replies, pinned stations, custody heads, counters) and on every file in the store, byte for byte:
no reply stored, no acknowledged envelope deleted, no `.part` left behind.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crypto import X25519Identity, seal_bytes
from crypto.bundle import FORMAT, encode_manifest, write_bundle
from crypto.signing import SigningKey
from review.station import Station as ReviewStation
from submission.export import CONTEXT as EXPORT_CONTEXT
from submission.replies import CONTEXT as OUTBOX_CONTEXT
from tests.support.forms import csrf_token
from tests.support.intake import Intake, deliver, init_intake, read_outbox
from tests.support.station import PASSPHRASE, Station, assert_ok, assert_refused, last_token


@dataclass
class Pending:
    """A source's submission on the station, a reply waiting, and a good outbox for the intake."""

    station: Station
    intake: Intake
    outbox: Path
    document: dict[str, Any]
    reply: bytes  # the sealed reply's bytes
    acknowledged: list[str]
    tmp: Path
    codename: str

    def refused(self, bundle: Path, *needles: str) -> str:
        """Import `bundle`: it must be refused and change nothing."""
        before = self.intake.snapshot()
        line = assert_refused(self.intake.import_replies(bundle), *needles)
        assert self.intake.snapshot() == before, f"{bundle.name} was refused but changed something"
        return line


@pytest.fixture
def pending(tmp_path: Path, station: Station, intake: Intake) -> Pending:
    source = intake.new_source()
    intake.submit_as(
        source,
        "Carousel voting at polling station 1142.",
        [(b"%PDF-1.4 protocol", "p.pdf", "application/pdf")],
    )
    deliver(station, intake, tmp_path / "tamga.tar")
    station.reply(station.item_of(source.id), "Which polling station was this?")
    outbox = tmp_path / "outbox.tar"
    assert station.export_outbox(outbox) == (1, 3)
    document = read_outbox(outbox, station.signing_key())
    (entry,) = document["envelopes"]
    reply = (station.root / "outbox" / f"{entry['sha256']}.age").read_bytes()
    return Pending(
        station, intake, outbox, document, reply, list(document["acknowledged"]), tmp_path, source.codename
    )


def signing_key_of(station: Station) -> SigningKey:
    return ReviewStation(station.root).unlock(lambda: PASSPHRASE).signing


def build_outbox(
    path: Path,
    key: SigningKey,
    document: dict[str, Any],
    members: list[tuple[str, bytes]],
    context: str = OUTBOX_CONTEXT,
) -> Path:
    """An outbox written by hand: `document` signed under `context`, then the members given."""
    files = []
    for index, (_, data) in enumerate(members):
        member_file = path.with_name(f"{path.name}.member-{index}")
        member_file.write_bytes(data)
        files.append(member_file)
    with open(path, "wb") as dst:
        write_bundle(
            dst,
            encode_manifest(document, key, context, []),
            [(name, file) for (name, _), file in zip(members, files, strict=True)],
        )
    for member_file in files:
        member_file.unlink()
    return path


def reply_entry(envelope: bytes, source: str, reply: int = 1, **changes: Any) -> dict[str, Any]:
    entry = {
        "sha256": hashlib.sha256(envelope).hexdigest(),
        "size": len(envelope),
        "kind": "reply",
        "source": source,
        "reply": reply,
    }
    entry.update(changes)
    return entry


def outbox_document(pending: Pending, key: SigningKey, **changes: Any) -> dict[str, Any]:
    """The layout of review/outbox.py's document, for the pending reply."""
    document = {
        "format": FORMAT,
        "kind": "outbox",
        "sender": key.verify_key.key_id,
        "receiver": pending.intake.server_key(),
        "sequence": pending.document["sequence"],
        "created": pending.document["created"],
        "custody_head": pending.document["custody_head"],
        "custody_events": pending.document["custody_events"],
        "acknowledged": pending.acknowledged,
        "envelopes": [reply_entry(pending.reply, pending.document["envelopes"][0]["source"])],
    }
    document.update(changes)
    return document


def test_the_hand_built_outbox_is_accepted_when_nothing_is_wrong(pending: Pending) -> None:
    """The control for the hand-built cases below: the builder makes outboxes the intake accepts."""
    key = signing_key_of(pending.station)
    document = outbox_document(pending, key)
    digest = document["envelopes"][0]["sha256"]
    bundle = build_outbox(pending.tmp / "hand.tar", key, document, [(f"{digest}.age", pending.reply)])
    result = assert_ok(pending.intake.import_replies(bundle))
    assert "1 reply(ies) stored, 3 envelope(s) acknowledged and deleted" in result.stdout
    assert pending.intake.envelope_files() == {}


def test_an_outbox_signed_by_another_station_is_refused(
    pending: Pending, tmp_path: Path, other_station_template: Station
) -> None:
    other = other_station_template.copy_to(tmp_path / "other")
    other.ok("trust-server", pending.intake.server_key())
    # The other station's own (empty) outbox for this very server.
    assert other.export_outbox(tmp_path / "other.tar") == (0, 0)
    pending.refused(tmp_path / "other.tar", "untrusted key")
    # The same document as the genuine outbox (a reply, every envelope acknowledged), signed by it.
    key = signing_key_of(other)
    document = outbox_document(pending, key)
    digest = document["envelopes"][0]["sha256"]
    forged = build_outbox(tmp_path / "forged.tar", key, document, [(f"{digest}.age", pending.reply)])
    pending.refused(forged, "untrusted key")
    # The genuine one still imports afterwards.
    assert_ok(pending.intake.import_replies(pending.outbox))


def test_an_outbox_is_refused_when_no_station_is_pinned(tmp_path: Path, station: Station) -> None:
    intake = init_intake(tmp_path / "unpinned", station)  # no --station-key
    try:
        assert intake.query("SELECT count(*) FROM trusted_stations") == [(0,)]
        station.ok("trust-server", intake.server_key())
        source = intake.new_source()
        intake.submit_as(source, "hello")
        deliver(station, intake, tmp_path / "tamga.tar")
        station.reply(station.item_of(source.id), "a question")
        station.export_outbox(tmp_path / "outbox.tar")
        before = intake.snapshot()
        assert_refused(intake.import_replies(tmp_path / "outbox.tar"), "no review station key is pinned")
        assert intake.snapshot() == before
        # Pinning it later with trust-station makes the same outbox acceptable.
        assert_ok(intake.run("trust-station", station.signing_key()))
        assert "1 reply(ies) stored" in assert_ok(intake.import_replies(tmp_path / "outbox.tar")).stdout
    finally:
        intake.close()


def test_an_outbox_for_another_server_is_refused(pending: Pending, tmp_path: Path) -> None:
    station = pending.station
    second = init_intake(tmp_path / "second", station, station.signing_key())
    try:
        station.ok("trust-server", second.server_key())
        # Two servers pinned: export-outbox must be told which one, and refuses without changing anything.
        before = station.snapshot()
        assert_refused(station.run("export-outbox", "--out", str(tmp_path / "which.tar")), "--server")
        assert not (tmp_path / "which.tar").exists()
        assert station.snapshot() == before
        # A source on the second server, and a reply waiting for a source on each server.
        there = second.new_source()
        second.submit_as(there, "sent to the second server")
        deliver(station, second, tmp_path / "second.tar")
        station.reply(station.item_of(there.id), "For the second server's source.")
        first_source = pending.document["envelopes"][0]["source"]
        station.reply(station.item_of(first_source), "For the first server's source, again.")
        # Each outbox carries only its own server's replies and acknowledgements.
        for_second = tmp_path / "for-second.tar"
        assert station.export_outbox(for_second, "--server", second.server_key()) == (1, 1)
        document = read_outbox(for_second, station.signing_key())
        assert document["receiver"] == second.server_key()
        assert [e["source"] for e in document["envelopes"]] == [there.id]
        # Imported into the first server: refused.
        pending.refused(for_second, "meant for another intake server")
        # The second server takes it; the first still takes its own, then its next one.
        assert "1 reply(ies) stored, 1 envelope(s)" in assert_ok(second.import_replies(for_second)).stdout
        assert_ok(pending.intake.import_replies(pending.outbox))
        for_first = tmp_path / "for-first.tar"
        assert station.export_outbox(for_first, "--server", pending.intake.server_key()) == (1, 0)
        assert (
            "1 reply(ies) stored, 0 envelope(s)" in assert_ok(pending.intake.import_replies(for_first)).stdout
        )
    finally:
        second.close()


def test_export_outbox_refuses_an_unpinned_server(pending: Pending, tmp_path: Path) -> None:
    before = pending.station.snapshot()
    stranger = str(SigningKey.generate().verify_key)
    assert_refused(
        pending.station.run("export-outbox", "--out", str(tmp_path / "x.tar"), "--server", stranger),
        "not pinned",
    )
    assert pending.station.snapshot() == before
    assert not (tmp_path / "x.tar").exists()


def test_a_replayed_older_outbox_is_refused_after_a_newer_one(pending: Pending, tmp_path: Path) -> None:
    station, intake = pending.station, pending.intake
    newer = tmp_path / "outbox-2.tar"
    station.reply(station.items()[0]["id"], "A second question.")
    assert station.export_outbox(newer) == (1, 0)
    assert_ok(intake.import_replies(pending.outbox))
    assert_ok(intake.import_replies(newer))
    assert len(intake.reply_files()) == 2
    line = pending_refused_after(intake, pending.outbox)
    assert "sequence 1" in line and "(2)" in line
    # Pinning the same key again does not reset what was imported from it.
    assert_ok(intake.run("trust-station", station.signing_key()))
    pending_refused_after(intake, pending.outbox)


def pending_refused_after(intake: Intake, bundle: Path) -> str:
    before = intake.snapshot()
    line = assert_refused(intake.import_replies(bundle), "old or replayed")
    assert intake.snapshot() == before
    return line


def test_skipping_ahead_then_replaying_the_skipped_outbox_is_refused(
    pending: Pending, tmp_path: Path
) -> None:
    """Outbox 2 imported first (1 was lost): 1 can no longer come in, its reply is not stored."""
    station, intake = pending.station, pending.intake
    newer = tmp_path / "outbox-2.tar"
    assert station.export_outbox(newer) == (0, 0)
    assert_ok(intake.import_replies(newer))
    pending_refused_after(intake, pending.outbox)
    assert intake.reply_files() == []


def tar_members(bundle: bytes) -> tuple[list[tuple[str, int, int]], int]:
    """(name, header offset, size) per member, and the offset of the end-of-archive blocks."""
    members, offset = [], 0
    while bundle[offset : offset + 512] != bytes(512):
        size = int(bundle[offset + 124 : offset + 136].rstrip(b"\x00"), 8)
        members.append((bundle[offset : offset + 100].rstrip(b"\x00").decode(), offset, size))
        offset += 512 + size + (-size % 512)
    return members, offset


def test_a_flipped_bit_anywhere_is_refused(pending: Pending) -> None:
    data = pending.outbox.read_bytes()
    (manifest, reply), end = tar_members(data)
    assert manifest[0] == "manifest.json" and reply[0].endswith(".age")
    assert end + 1024 == len(data)
    offsets = {
        "manifest header name": manifest[1] + 3,
        "manifest header size": manifest[1] + 130,
        "manifest header checksum": manifest[1] + 150,
        "manifest document": manifest[1] + 512 + 40,
        "manifest signature": manifest[1] + 512 + manifest[2] - 20,
        "manifest padding": manifest[1] + 512 + manifest[2] + 1,
        "reply header": reply[1] + 10,
        "reply header mtime": reply[1] + 140,
        "reply body start": reply[1] + 512,
        "reply body end": reply[1] + 512 + reply[2] - 1,
        "end of archive": end + 3,
        "last byte": len(data) - 1,
    }
    assert manifest[2] % 512 != 0 and reply[2] % 512 != 0  # so the paddings exist
    for where, offset in offsets.items():
        for bit in (0, 7):
            changed = bytearray(data)
            changed[offset] ^= 1 << bit
            bundle = pending.tmp / f"flipped-{offset}-{bit}.tar"
            bundle.write_bytes(bytes(changed))
            try:
                pending.refused(bundle)
            except AssertionError as error:
                raise AssertionError(
                    f"a flipped bit in the {where} (offset {offset}, bit {bit}): {error}"
                ) from None
    # The untouched outbox still imports.
    assert_ok(pending.intake.import_replies(pending.outbox))


def test_a_truncated_outbox_is_refused(pending: Pending) -> None:
    data = pending.outbox.read_bytes()
    (manifest, reply), end = tar_members(data)
    cuts = {
        "empty file": 0,
        "inside the first header": 100,
        "after the first header": 512,
        "inside the manifest": 512 + manifest[2] // 2,
        "before the reply member": reply[1],
        "inside the reply": reply[1] + 512 + reply[2] // 2,
        "before the end of archive": end,
        "one end block missing": len(data) - 512,
        "one byte short": len(data) - 1,
    }
    for where, length in cuts.items():
        bundle = pending.tmp / f"truncated-{length}.tar"
        bundle.write_bytes(data[:length])
        try:
            pending.refused(bundle)
        except AssertionError as error:
            raise AssertionError(f"an outbox cut {where} ({length} bytes): {error}") from None
    # Bytes after the end are refused too.
    bundle = pending.tmp / "extended.tar"
    bundle.write_bytes(data + bytes(512))
    pending.refused(bundle)


def test_a_hand_built_outbox_with_a_wrong_reply_entry_is_refused(pending: Pending) -> None:
    key = signing_key_of(pending.station)
    source = pending.document["envelopes"][0]["source"]
    real = reply_entry(pending.reply, source)
    member = (f"{real['sha256']}.age", pending.reply)
    other_bytes = pending.reply[:-1] + bytes([pending.reply[-1] ^ 1])
    other_sha = hashlib.sha256(other_bytes).hexdigest()
    cases: dict[str, tuple[list[dict[str, Any]], list[tuple[str, bytes]], str]] = {
        "size one too large": ([{**real, "size": real["size"] + 1}], [member], "size"),
        "size one too small": ([{**real, "size": real["size"] - 1}], [member], "size"),
        "bad sha256 (member named after it)": (
            [{**real, "sha256": other_sha}],
            [(f"{other_sha}.age", pending.reply)],
            "hash",
        ),
        "sha256 of no member": ([{**real, "sha256": other_sha}], [member], "does not list"),
        "a listed reply without its member": ([real], [], "missing"),
        "a member not listed": ([], [member], "does not list"),
        "the same reply twice": ([real, real], [member], "twice"),
        "not a reply": ([{**real, "kind": "message"}], [member], "malformed"),
        "a bad source id": ([{**real, "source": "../etc"}], [member], "malformed"),
        "an empty reply": ([{**real, "size": 0}], [member], "malformed"),
        "a reply number that is text": ([{**real, "reply": "1"}], [member], "malformed"),
    }
    for index, (where, (entries, members, needle)) in enumerate(cases.items()):
        document = outbox_document(pending, key, envelopes=entries)
        bundle = build_outbox(pending.tmp / f"hand-{index}.tar", key, document, members)
        try:
            pending.refused(bundle, needle)
        except AssertionError as error:
            raise AssertionError(f"hand-built outbox with {where}: {error}") from None


def test_a_hand_built_outbox_with_a_wrong_manifest_is_refused(pending: Pending) -> None:
    key = signing_key_of(pending.station)
    digest = pending.document["envelopes"][0]["sha256"]
    members = [(f"{digest}.age", pending.reply)]
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "kind export": ({"kind": "export"}, "not an outbox"),
        "another receiver": ({"receiver": str(SigningKey.generate().verify_key)}, "another intake server"),
        "sequence 0": ({"sequence": 0}, "not above"),
        "sequence as text": ({"sequence": "1"}, "not above"),
        "an acknowledgement that is no hash": ({"acknowledged": ["xyz"]}, "malformed"),
        "no custody head": ({"custody_head": None}, "custody head"),
        "another format": ({"format": "tamga-bundle/v2"}, "not a tamga-bundle/v1"),
    }
    for index, (where, (changes, needle)) in enumerate(cases.items()):
        document = outbox_document(pending, key, **changes)
        bundle = build_outbox(pending.tmp / f"manifest-{index}.tar", key, document, members)
        try:
            pending.refused(bundle, needle)
        except AssertionError as error:
            raise AssertionError(f"hand-built outbox with {where}: {error}") from None


def test_an_outbox_signed_under_the_export_context_is_refused(pending: Pending) -> None:
    key = signing_key_of(pending.station)
    document = outbox_document(pending, key)
    digest = document["envelopes"][0]["sha256"]
    bundle = build_outbox(
        pending.tmp / "export-context.tar",
        key,
        document,
        [(f"{digest}.age", pending.reply)],
        context=EXPORT_CONTEXT,
    )
    assert EXPORT_CONTEXT == "tamga/export/v1"
    pending.refused(bundle, "manifest refused")


def test_an_export_bundle_is_not_an_outbox(pending: Pending, tmp_path: Path) -> None:
    """A station-bound export bundle handed to import-replies by mistake."""
    pending.intake.submit_as(pending.intake.new_source(), "another one")
    pending.intake.export_ok(tmp_path / "export.tar")
    pending.refused(tmp_path / "export.tar", "manifest")


def test_export_outbox_refuses_to_overwrite_a_file(pending: Pending, tmp_path: Path) -> None:
    station = pending.station
    station.reply(station.items()[0]["id"], "Waiting in the outbox.")
    target = tmp_path / "existing.tar"
    target.write_bytes(b"precious")
    before = station.snapshot()
    assert_refused(station.run("export-outbox", "--out", str(target)), "already exists")
    assert target.read_bytes() == b"precious"
    assert station.snapshot() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".existing")] == []
    # A symlink (even a dangling one) is not overwritten either.
    link = tmp_path / "link.tar"
    os.symlink(tmp_path / "nowhere", link)
    assert_refused(station.run("export-outbox", "--out", str(link)), "already exists")
    assert not (tmp_path / "nowhere").exists()
    assert station.snapshot() == before
    # Nothing was lost: the next outbox carries the waiting reply.
    assert station.export_outbox(tmp_path / "next.tar") == (1, 0)


def test_a_damaged_second_reply_leaves_nothing_of_the_first(pending: Pending, tmp_path: Path) -> None:
    """Replies are staged until the whole outbox verified: the first one's part file is removed too."""
    station = pending.station
    item = station.items()[0]["id"]
    station.reply(item, "Second question.")
    station.reply(item, "Third question.")
    both = tmp_path / "outbox-2.tar"
    assert station.export_outbox(both) == (2, 0)
    data = both.read_bytes()
    (_, _, second), _ = tar_members(data)
    changed = bytearray(data)
    changed[second[1] + 512 + second[2] // 2] ^= 0x10
    bundle = tmp_path / "damaged.tar"
    bundle.write_bytes(bytes(changed))
    pending.refused(bundle, "altered or damaged")
    assert sorted(p.name for p in pending.intake.store.iterdir()) == sorted(pending.intake.envelope_files())
    # Undamaged, it imports (sequence 2 after nothing: a lost first outbox only loses its own content).
    assert "2 reply(ies) stored" in assert_ok(pending.intake.import_replies(both)).stdout


def test_a_bad_station_key_is_refused_and_nothing_is_created(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    target = tmp_path / "never"
    result = Intake(target).run(
        "init", "--recipient", last_token(station.ok("pubkey")), "--station-key", "tamgapub1xyz"
    )
    assert_refused(result)
    assert not target.exists()
    before = intake.snapshot()
    assert_refused(intake.run("trust-station", "age1notasigningkey"))
    assert_refused(intake.run("trust-station", station.ok("pubkey").stdout.split()[-1]))
    assert intake.snapshot() == before


def test_export_outbox_with_a_sealed_reply_missing_fails_cleanly(pending: Pending, tmp_path: Path) -> None:
    station = pending.station
    station.reply(station.items()[0]["id"], "This one loses its file.")
    ((sha,),) = station.query("SELECT sha256 FROM outbox_replies WHERE exported_in IS NULL")
    (station.root / "outbox" / f"{sha}.age").unlink()
    before = station.snapshot()
    assert_refused(station.run("export-outbox", "--out", str(tmp_path / "broken.tar")))
    assert station.snapshot() == before  # no sequence used, no custody event, nothing marked exported
    assert sorted(p.name for p in tmp_path.iterdir() if "broken" in p.name) == []


def test_a_reply_the_source_cannot_open_is_shown_as_such_and_can_be_deleted(pending: Pending) -> None:
    """A reply sealed to another key (a station bug): the page says so; nothing crashes."""
    key = signing_key_of(pending.station)
    stranger = seal_bytes(b"sealed to someone else", [X25519Identity.generate().recipient])
    source = pending.document["envelopes"][0]["source"]
    document = outbox_document(pending, key, envelopes=[reply_entry(stranger, source, reply=77)])
    digest = document["envelopes"][0]["sha256"]
    bundle = build_outbox(pending.tmp / "stranger.tar", key, document, [(f"{digest}.age", stranger)])
    assert_ok(pending.intake.import_replies(bundle))
    codename = pending.codename
    client, page = pending.intake.log_in(codename)
    assert "This reply could not be opened." in page
    (reply_id,) = [row[0] for row in pending.intake.query("SELECT id FROM replies")]
    response = client.post(f"/replies/{reply_id}/delete", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert pending.intake.reply_files() == []


def test_init_with_the_same_station_key_twice_is_clean(tmp_path: Path, station: Station) -> None:
    target = tmp_path / "twice"
    key = station.signing_key()
    result = Intake(target).run(
        "init", "--recipient", last_token(station.ok("pubkey")), "--station-key", key, "--station-key", key
    )
    if result.exit_code == 0:
        assert Intake(target).query("SELECT verify_key FROM trusted_stations") == [(key,)]
    else:
        assert_refused(result)
        assert not target.exists()
