"""Bundle-level faults: each refused with one line, exit code 1, and nothing imported."""

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import crypto.bundle
from crypto import X25519Identity, seal_bytes
from crypto.signing import SigningKey
from tests.support.bundles import (
    Layout,
    flip,
    manifest_document,
    manifest_entry,
    member,
    raw_member,
    sealed_manifest,
    tar,
    tar_header,
    tar_layout,
    with_checksum,
)
from tests.support.intake import Intake, make_intake, pin
from tests.support.station import Station, assert_ok, assert_refused

MESSAGE = "Carousel voting at PS 7: the same bus three times."
VIDEO = random.Random(3).randbytes(150_001)
SCAN = b"protocol scan " * 50


@dataclass
class World:
    """One station (never changed by a refusal), its pinned intake and a genuine bundle."""

    station: Station
    intake: Intake
    bundle: bytes
    members: list[Layout]
    end: int
    tmp: Path

    def refuse(self, data: bytes, *needles: str, name: str = "bundle.tar") -> str:
        path = self.tmp / name
        path.write_bytes(data)
        before = self.station.snapshot()
        try:
            return assert_refused(self.station.run("import", path), *needles)
        finally:
            self.station.assert_clean(before)
            path.unlink()

    # hand-built bundles, validly signed by the pinned server and sealed to the station

    def envelope(self, text: bytes = b"a message") -> bytes:
        return seal_bytes(text, [self.station.recipient])

    def manifest(
        self,
        entries: list[dict[str, Any]],
        sequence: int = 1,
        key: SigningKey | None = None,
        **changes: Any,
    ) -> bytes:
        key = key or self.intake.key
        document = manifest_document(key, [self.station.recipient], sequence, entries)
        document.update(changes)
        name, data = sealed_manifest(document, key, [self.station.recipient])
        return member(name, data)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("refusals")
    station = station_template.copy_to(tmp / "station")
    intake = make_intake(tmp / "intake", [station.recipient])
    pin(station, intake)
    intake.submit(MESSAGE, [(VIDEO, "video.mp4", "video/mp4"), (SCAN, "scan.pdf", "application/pdf")])
    path = intake.export_ok(tmp / "genuine.tar")[0][0]
    bundle = path.read_bytes()
    members, end = tar_layout(bundle)
    assert members[0].name == "manifest.age" and len(members) == 6
    yield World(station, intake, bundle, members, end, tmp)
    intake.close()


def test_the_genuine_bundle_imports(world: World, tmp_path: Path, station_template: Station) -> None:
    """The control: the bundle every refusal below alters imports on a copy of the same station."""
    copy = world.station.copy_to(tmp_path / "copy")
    path = tmp_path / "genuine.tar"
    path.write_bytes(world.bundle)
    assert "imported 3 item(s)" in copy.ok("import", path).stdout


def test_a_hand_built_bundle_imports(world: World, tmp_path: Path) -> None:
    """The control for the hand-built cases: the builder makes bundles the station accepts."""
    copy = world.station.copy_to(tmp_path / "copy")
    envelope = world.envelope(b"hand-built message")
    path = tmp_path / "hand.tar"
    path.write_bytes(
        tar(world.manifest([manifest_entry(envelope)]), member(envelope_name(envelope), envelope))
    )
    assert "imported 1 item(s)" in copy.ok("import", path).stdout
    (item,) = copy.items()
    assert copy.ok("show", item["id"]).stdout.endswith("hand-built message\n")


def envelope_name(envelope: bytes) -> str:
    from tests.support.bundles import sha256

    return sha256(envelope) + ".age"


# --- signer, receiver, passphrase ---------------------------------------------------------------


def test_unpinned_signer(tmp_path: Path, station: Station) -> None:
    intake = make_intake(tmp_path / "intake", [station.recipient])
    intake.submit(MESSAGE)
    bundle = intake.export_ok(tmp_path / "b.tar")[0][0]
    before = station.snapshot()
    assert_refused(station.run("import", bundle), "no intake server key is pinned")
    station.assert_clean(before)
    intake.close()


def test_another_servers_key_pinned(tmp_path: Path, station: Station) -> None:
    intake = make_intake(tmp_path / "intake", [station.recipient])
    impostor = make_intake(tmp_path / "impostor", [station.recipient])
    pin(station, intake)
    impostor.submit(MESSAGE)
    bundle = impostor.export_ok(tmp_path / "b.tar")[0][0]
    before = station.snapshot()
    assert_refused(station.run("import", bundle), "untrusted key", impostor.key.verify_key.fingerprint)
    station.assert_clean(before)
    impostor.close()


def test_bundle_sealed_for_another_station(
    tmp_path: Path, station: Station, other_station_template: Station
) -> None:
    other = other_station_template.copy_to(tmp_path / "other")
    intake = make_intake(tmp_path / "intake", [other.recipient])
    pin(station, intake)
    pin(other, intake)
    intake.submit(MESSAGE)
    bundle = intake.export_ok(tmp_path / "b.tar")[0][0]
    before = station.snapshot()
    assert_refused(station.run("import", bundle), "another station")
    station.assert_clean(before)
    assert "imported 1 item(s)" in other.ok("import", bundle).stdout  # it was a good bundle


def test_bundle_listing_another_receiver(world: World) -> None:
    envelope = world.envelope()
    elsewhere = X25519Identity.generate().recipient
    manifest = world.manifest([manifest_entry(envelope)], receivers=[str(elsewhere)])
    world.refuse(tar(manifest, member(envelope_name(envelope), envelope)), "another station")


def test_wrong_passphrase(world: World) -> None:
    path = world.tmp / "genuine.tar"
    before = world.station.snapshot()
    assert_refused(world.station.run("import", path, passphrase="not the passphrase"), "wrong passphrase")
    world.station.assert_clean(before)


# --- a flipped bit anywhere -----------------------------------------------------------------------


def envelope_member(world: World, big: bool) -> Layout:
    envelopes = world.members[1:]
    return max(envelopes, key=lambda m: m.size) if big else min(envelopes, key=lambda m: m.size)


def padded(world: World) -> Layout:
    return next(m for m in world.members[1:] if m.padding_size)


FLIPS: dict[str, Callable[[World], int]] = {
    "manifest header: name": lambda w: w.members[0].header + 3,
    "manifest header: mode": lambda w: w.members[0].header + 102,
    "manifest header: size": lambda w: w.members[0].header + 134,
    "manifest header: mtime": lambda w: w.members[0].header + 140,
    "manifest header: checksum digit": lambda w: w.members[0].header + 153,
    "manifest header: typeflag": lambda w: w.members[0].header + 156,
    "manifest header: magic": lambda w: w.members[0].header + 258,
    "manifest header: unused tail": lambda w: w.members[0].header + 511,
    "manifest: first byte": lambda w: w.members[0].data,
    "manifest: stanza": lambda w: w.members[0].data + 40,
    "manifest: middle": lambda w: w.members[0].data + w.members[0].size // 2,
    "manifest: last byte": lambda w: w.members[0].padding - 1,
    "manifest: padding": lambda w: w.members[0].padding,
    "manifest: last padding byte": lambda w: w.members[0].padding + w.members[0].padding_size - 1,
    "envelope header: name": lambda w: w.members[1].header + 10,
    "envelope header: size": lambda w: w.members[2].header + 130,
    "envelope header: prefix field": lambda w: w.members[2].header + 400,
    "envelope header: unused tail": lambda w: w.members[3].header + 505,
    "small envelope: first byte": lambda w: envelope_member(w, False).data,
    "small envelope: last byte": lambda w: envelope_member(w, False).padding - 1,
    "big envelope: header": lambda w: envelope_member(w, True).data + 30,
    "big envelope: second chunk": lambda w: envelope_member(w, True).data + 70_000,
    "big envelope: last byte": lambda w: envelope_member(w, True).padding - 1,
    "envelope padding": lambda w: padded(w).padding,
    "last member's padding": lambda w: w.members[-1].padding + w.members[-1].padding_size - 1,
    "end of archive: first block": lambda w: w.end,
    "end of archive: first block, middle": lambda w: w.end + 300,
    "end of archive: second block": lambda w: w.end + 512,
    "end of archive: last byte": lambda w: len(w.bundle) - 1,
}


@pytest.mark.parametrize("bit", [0, 7])
@pytest.mark.parametrize("where", FLIPS)
def test_flipped_bit(world: World, where: str, bit: int) -> None:
    assert world.members[-1].padding_size, "the last member should have padding to flip"
    world.refuse(flip(world.bundle, FLIPS[where](world), bit))


@pytest.mark.parametrize(("offset", "bit"), [(148, 4), (154, 5), (155, 5)], ids=["lead-0", "nul", "space"])
def test_flipped_bit_in_checksum_field(tmp_path: Path, world: World, offset: int, bit: int) -> None:
    copy = world.station.copy_to(tmp_path / "copy")  # the flip imports: keep the shared station clean
    header = world.members[1].header
    assert world.bundle[header + 148 : header + 149] == b"0"
    path = tmp_path / "flipped.tar"
    path.write_bytes(flip(world.bundle, header + offset, bit))
    before = copy.snapshot()
    assert_refused(copy.run("import", path))
    copy.assert_clean(before)


def test_altered_copy_of_an_imported_bundle_is_refused(tmp_path: Path, world: World) -> None:
    copy = world.station.copy_to(tmp_path / "copy")
    genuine = tmp_path / "genuine.tar"
    genuine.write_bytes(world.bundle)
    copy.ok("import", genuine)
    altered = tmp_path / "altered.tar"
    altered.write_bytes(flip(world.bundle, envelope_member(world, True).data + 70_000))
    assert_refused(copy.run("import", altered))


# --- truncated, or more after the end -------------------------------------------------------------


CUTS: dict[str, Callable[[World], int]] = {
    "empty file": lambda w: 0,
    "inside the first header": lambda w: 100,
    "after the first header": lambda w: 512,
    "inside the manifest": lambda w: w.members[0].data + 200,
    "before the manifest padding": lambda w: w.members[0].padding,
    "after the manifest": lambda w: w.members[1].header,
    "inside an envelope header": lambda w: w.members[2].header + 300,
    "inside the big envelope": lambda w: envelope_member(w, True).data + 70_000,
    "one byte short of an envelope": lambda w: envelope_member(w, True).padding - 1,
    "inside padding": lambda w: padded(w).padding + 1,
    "before the end blocks": lambda w: w.end,
    "between the end blocks": lambda w: w.end + 512,
    "one byte short": lambda w: len(w.bundle) - 1,
}


@pytest.mark.parametrize("where", CUTS)
def test_truncated(world: World, where: str) -> None:
    world.refuse(world.bundle[: CUTS[where](world)])


@pytest.mark.parametrize(
    "extra",
    [b"\x00", b"x", bytes(512), bytes(1024), "member"],
    ids=["a zero byte", "a byte", "a zero block", "another end", "another member"],
)
def test_trailing_bytes(world: World, extra: bytes | str) -> None:
    if extra == "member":
        extra = member(world.members[1].name, world.bundle[world.members[1].data : world.members[1].padding])
    world.refuse(world.bundle + extra, "after the end")


# --- sequence numbers ---------------------------------------------------------------------------


def test_older_or_reused_sequence_is_refused(tmp_path: Path, station: Station, intake: Intake) -> None:
    intake.submit(MESSAGE)
    first = intake.export_ok(tmp_path / "first.tar")[0][0]
    intake.submit("a second message")
    second = intake.export_ok(tmp_path / "second.tar")[0][0]
    station.ok("import", second)
    before = station.snapshot()

    assert_refused(station.run("import", first), "sequence 1 is not above the last one imported (2)")
    station.assert_clean(before)

    # a different bundle reusing sequence 2, validly signed: refused too
    envelope = seal_bytes(b"replayed", [station.recipient])
    document = manifest_document(intake.key, [station.recipient], 2, [manifest_entry(envelope)])
    name, data = sealed_manifest(document, intake.key, [station.recipient])
    reused = tmp_path / "reused.tar"
    reused.write_bytes(tar(member(name, data), member(envelope_name(envelope), envelope)))
    assert_refused(station.run("import", reused), "sequence 2 is not above")
    station.assert_clean(before)

    # the identical bundle again is a no-op
    assert "already imported" in station.ok("import", second).stdout
    station.assert_clean(before)


# --- tar cases built by hand --------------------------------------------------------------------


def test_absolute_path(world: World) -> None:
    envelope = world.envelope()
    bad = raw_member(tar_header(b"/tmp/" + envelope_name(envelope).encode(), len(envelope)), envelope)
    world.refuse(tar(world.manifest([manifest_entry(envelope)]), bad), "path")


@pytest.mark.parametrize(
    "name", [b"../x", b"../" + b"a" * 64 + b".age", b"a/../../x.age", b"sub/x.age", b".hidden"]
)
def test_path_names(world: World, name: bytes) -> None:
    envelope = world.envelope()
    bad = raw_member(tar_header(name, len(envelope)), envelope)
    world.refuse(tar(world.manifest([manifest_entry(envelope)]), bad), "name that is not allowed")


def test_prefix_field(world: World) -> None:
    envelope = world.envelope()
    bad = raw_member(tar_header(envelope_name(envelope).encode(), len(envelope), prefix=b"/etc"), envelope)
    world.refuse(tar(world.manifest([manifest_entry(envelope)]), bad), "path")


TYPEFLAGS = {
    "symlink": (b"2", b"/etc/passwd"),
    "hardlink": (b"1", b"manifest.age"),
    "char-device": (b"3", b""),
    "block-device": (b"4", b""),
    "directory": (b"5", b""),
    "fifo": (b"6", b""),
    "contiguous": (b"7", b""),
    "gnu-longname": (b"L", b""),
    "gnu-longlink": (b"K", b""),
    "pax": (b"x", b""),
    "pax-global": (b"g", b""),
    "sparse": (b"S", b""),
}


@pytest.mark.parametrize("kind", TYPEFLAGS)
def test_not_a_regular_file(world: World, kind: str) -> None:
    typeflag, link = TYPEFLAGS[kind]
    envelope = world.envelope()
    size = len(envelope) if typeflag in (b"7", b"L", b"K", b"x", b"g", b"S") else 0
    header = tar_header(envelope_name(envelope).encode(), size, typeflag=typeflag, link=link)
    bad = raw_member(header, envelope[:size])
    world.refuse(tar(world.manifest([manifest_entry(envelope)]), bad), "link or device")


def test_duplicate_member(world: World) -> None:
    envelope = world.envelope()
    good = member(envelope_name(envelope), envelope)
    world.refuse(tar(world.manifest([manifest_entry(envelope)]), good, good), "same member twice")


def test_member_not_in_manifest(world: World) -> None:
    listed, stowaway = world.envelope(b"listed"), world.envelope(b"stowaway")
    members = [member(envelope_name(e), e) for e in (listed, stowaway)]
    world.refuse(tar(world.manifest([manifest_entry(listed)]), *members), "does not list")


def test_manifest_entry_with_no_member(world: World) -> None:
    present, absent = world.envelope(b"present"), world.envelope(b"absent")
    entries = [manifest_entry(present), manifest_entry(absent, kind="file-content", item=1)]
    world.refuse(tar(world.manifest(entries), member(envelope_name(present), present)), "missing 1 envelope")


def test_manifest_not_first(world: World) -> None:
    envelope = world.envelope()
    manifest = world.manifest([manifest_entry(envelope)])
    world.refuse(tar(member(envelope_name(envelope), envelope), manifest), "does not begin with its manifest")


def test_no_manifest(world: World) -> None:
    world.refuse(tar(), "does not begin with its manifest")


def test_second_manifest(world: World) -> None:
    envelope = world.envelope()
    manifest = world.manifest([manifest_entry(envelope)])
    world.refuse(tar(manifest, member(envelope_name(envelope), envelope), manifest), "not an envelope name")


def test_plain_manifest(world: World) -> None:
    """A manifest left unsealed (manifest.json) is not what a station-bound export carries."""
    envelope = world.envelope()
    document = manifest_document(world.intake.key, [world.station.recipient], 1, [manifest_entry(envelope)])
    name, data = sealed_manifest(document, world.intake.key, [])
    assert name == "manifest.json"
    world.refuse(tar(member(name, data), member(envelope_name(envelope), envelope)), "manifest")


def test_manifest_larger_than_the_bound(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    envelope = world.envelope()
    bundle = tar(world.manifest([manifest_entry(envelope)]), member(envelope_name(envelope), envelope))
    assert tar_layout(bundle)[0][0].size > 256
    monkeypatch.setattr(crypto.bundle, "MAX_MANIFEST_SIZE", 256)
    world.refuse(bundle, "too large")


def test_huge_declared_manifest_size(world: World) -> None:
    """A header claiming a manifest of 4 GiB is refused before anything is read."""
    header = tar_header(b"manifest.age", 4 * 2**30)
    world.refuse(header + bytes(4096), "too large")


@pytest.mark.parametrize("delta", [1, -1, 512])
def test_size_mismatch(world: World, delta: int) -> None:
    envelope = world.envelope()
    entry = manifest_entry(envelope, size=len(envelope) + delta)
    world.refuse(
        tar(world.manifest([entry]), member(envelope_name(envelope), envelope)), "size does not match"
    )


def test_hash_mismatch(world: World) -> None:
    envelope, other = world.envelope(b"one"), world.envelope(b"two")
    assert len(envelope) == len(other)
    bundle = tar(world.manifest([manifest_entry(envelope)]), member(envelope_name(envelope), other))
    world.refuse(bundle, "does not match its hash")


def test_same_envelope_listed_twice(world: World) -> None:
    envelope = world.envelope()
    entries = [manifest_entry(envelope), manifest_entry(envelope, item=1)]
    world.refuse(tar(world.manifest(entries), member(envelope_name(envelope), envelope)), "twice")


def test_signed_for_another_purpose(world: World) -> None:
    envelope = world.envelope()
    document = manifest_document(world.intake.key, [world.station.recipient], 1, [manifest_entry(envelope)])
    name, data = sealed_manifest(document, world.intake.key, [world.station.recipient], "tamga/custody/v1")
    world.refuse(tar(member(name, data), member(envelope_name(envelope), envelope)), "another purpose")


def test_signed_by_an_unknown_key(world: World) -> None:
    envelope = world.envelope()
    manifest = world.manifest([manifest_entry(envelope)], key=SigningKey.generate())
    world.refuse(tar(manifest, member(envelope_name(envelope), envelope)), "untrusted key")


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "tamga-bundle/v2"},
        {"kind": "outbox"},
        {"sequence": "9"},
        {"sequence": True},
        {"sequence": 0},
        {"envelopes": {}},
    ],
    ids=["format", "kind", "sequence-string", "sequence-bool", "sequence-zero", "envelopes-not-a-list"],
)
def test_malformed_manifest_document(world: World, changes: dict[str, Any]) -> None:
    envelope = world.envelope()
    manifest = world.manifest([manifest_entry(envelope)], **changes)
    world.refuse(tar(manifest, member(envelope_name(envelope), envelope)))


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "executable"},
        {"sha256": "A" * 64},
        {"size": -1},
        {"size": "12"},
        {"item": -1},
        {"submission": "../../etc"},
        {"source": ""},
        {"reply_recipient": "age1nope"},
        {"received": "yesterday"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_malformed_manifest_entry(world: World, changes: dict[str, Any]) -> None:
    envelope = world.envelope()
    manifest = world.manifest([manifest_entry(envelope, **changes)])
    world.refuse(tar(manifest, member(envelope_name(envelope), envelope)), "manifest is malformed")


def test_checksum_of_a_hand_built_header_counts(world: World) -> None:
    """tar_header's checksum is what the reader computes: a wrong one is refused as a checksum fault."""
    envelope = world.envelope()
    header = bytearray(tar_header(envelope_name(envelope).encode(), len(envelope)))
    assert with_checksum(header) == bytes(header)
    header[148:154] = b"%06o" % (int(header[148:154], 8) + 1)
    bundle = tar(world.manifest([manifest_entry(envelope)]), raw_member(bytes(header), envelope))
    world.refuse(bundle, "checksum")


def test_refused_bundle_then_genuine_one_imports(world: World, tmp_path: Path) -> None:
    """After every refusal above, the shared station still imports the genuine bundle (on a copy)."""
    copy = world.station.copy_to(tmp_path / "copy")
    path = tmp_path / "genuine.tar"
    path.write_bytes(world.bundle)
    result = assert_ok(copy.run("import", path))
    assert "imported 3 item(s)" in result.stdout
