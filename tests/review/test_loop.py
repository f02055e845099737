"""The full loop across the air gap, driven from the two CLIs as a reviewer would use them."""

import hashlib
import json
import os
import random
import re
from pathlib import Path

from tests.support.bundles import sha256
from tests.support.intake import Intake
from tests.support.station import Station, assert_refused, custody_actions

MESSAGE = "Ballot stuffing at polling station 12, 14:05.\nБюллетени вбрасывали. Сайлау учаскесі №12."
VIDEO = random.Random(12).randbytes(200 * 1024 + 17)  # several 64 KiB chunks
SCAN = b"%PDF-1.4 protocol scan\n" * 40
FILES = [(VIDEO, "carousel-voting.mp4", "video/mp4"), (SCAN, "protocol 12.pdf", "application/pdf")]


def by_kind(items: list[dict], kind: str) -> list[dict]:
    return [item for item in items if item["kind"] == kind]


def test_full_loop(tmp_path: Path, station: Station, intake: Intake) -> None:
    """Two files and a message: intake app, export, import, list, extract, show, custody."""
    intake.submit(MESSAGE, FILES)
    bundle = tmp_path / "usb" / "tamga.tar"
    bundle.parent.mkdir()
    assert intake.export_ok(bundle) == [(bundle, 5)]  # a message, and content + metadata per file

    result = station.ok("import", bundle)
    assert result.stdout.strip() == f"{bundle}: imported 3 item(s), quarantined 0, 0 already known"

    items = station.items()
    assert len(items) == 3
    assert {i["sha256"] for i in items} == {sha256(VIDEO), sha256(SCAN), sha256(MESSAGE.encode())}
    assert all(i["status"] == "new" for i in items)
    assert {i["received"] for i in items} == intake.days()
    assert len({i["submission"] for i in items}) == 1
    (message,) = by_kind(items, "message")
    assert message["size"] == len(MESSAGE.encode())
    files = {i["name"]: i for i in by_kind(items, "file")}
    assert set(files) == {"carousel-voting.mp4", "protocol 12.pdf"}
    for content, name, kind in FILES:
        assert files[name]["sha256"] == hashlib.sha256(content).hexdigest()
        assert files[name]["size"] == len(content)
        assert files[name]["type"] == kind

    # extract gives identical bytes, and never overwrites
    for content, name, _ in FILES:
        out = tmp_path / "case" / name
        out.parent.mkdir(exist_ok=True)
        assert station.ok("extract", files[name]["id"], "--out", out).stdout.strip() == (
            f"Wrote {len(content)} bytes to {out}"
        )
        assert out.read_bytes() == content
        assert assert_refused(station.run("extract", files[name]["id"], "--out", out), "already exists")
        assert out.read_bytes() == content
        assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []

    # show gives the message text
    shown = station.ok("show", message["id"]).stdout
    assert shown.endswith("\n\n" + MESSAGE + "\n")
    assert json.loads(station.ok("show", message["id"], "--json").stdout)["text"] == MESSAGE

    # the custody log tells the story
    video_history = station.ok("custody", "show", files["carousel-voting.mp4"]["id"]).stdout
    assert custody_actions(video_history) == ["imported", "extracted"]
    assert sha256(VIDEO) in video_history
    message_history = station.ok("custody", "show", message["id"]).stdout
    assert custody_actions(message_history) == ["imported", "opened", "opened"]
    assert station.ok("custody", "verify").stdout.startswith("custody log verified: ")

    # the vault holds the five envelopes, content-addressed
    assert len(list(station.vault.rglob("*.age"))) == 5
    for path in station.vault.rglob("*.age"):
        assert path.name == sha256(path.read_bytes()) + ".age"
        assert path.parent.name == path.name[:2]


def test_message_with_bidi_and_control_characters_is_neutralised(station: Station, intake: Intake) -> None:
    text = "Protocol of PS 12 says \u202e21 := stov\u202c and \x1b[31mred\x1b[0m\x07 end\nline two\ttab"
    intake.submit(text, [(b"x", "invoice\u202eexe.pdf", "application/pdf")])
    bundle = intake.export_ok(station.root.parent / "b.tar")[0][0]
    station.ok("import", bundle)
    (message,) = by_kind(station.items(), "message")
    assert message["sha256"] == sha256(text.encode())
    shown = station.ok("show", message["id"]).stdout
    for char in ("\u202e", "\u202c", "\x1b", "\x07"):
        assert char not in shown
    for escaped in ("\\u202e", "\\u202c", "\\u001b", "\\u0007"):
        assert escaped in shown
    assert "\nline two\ttab" in shown  # newlines and tabs are kept
    facts = json.loads(station.ok("show", message["id"], "--json").stdout)
    assert facts["text"] == (
        "Protocol of PS 12 says \\u202e21 := stov\\u202c and "
        "\\u001b[31mred\\u001b[0m\\u0007 end\nline two\ttab"
    )
    listing = station.ok("list").stdout
    assert "\u202e" not in listing
    assert "invoice\\u202eexe.pdf" in listing
    (file,) = by_kind(station.items(), "file")
    assert "\u202e" not in station.ok("show", file["id"]).stdout


def test_importing_the_same_bundle_again_changes_nothing(station: Station, intake: Intake) -> None:
    intake.submit(MESSAGE, FILES[1:])
    bundle = intake.export_ok(station.root.parent / "b.tar")[0][0]
    station.ok("import", bundle)
    listing, head, state = station.ok("list", "--json").stdout, station.head(), station.snapshot()

    again = station.ok("import", bundle)
    assert again.stdout.strip() == f"{bundle}: already imported, nothing changed"
    assert station.ok("list", "--json").stdout == listing
    assert station.head() == head
    station.assert_clean(state)
    # also when it comes again in one command with itself
    assert station.ok("import", bundle, bundle).stdout.count("already imported") == 2
    station.assert_clean(state)


def test_export_with_nothing_new_writes_an_empty_bundle_that_imports(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    empty = tmp_path / "empty.tar"
    assert intake.export_ok(empty) == [(empty, 0)]
    assert (
        station.ok("import", empty).stdout.strip()
        == f"{empty}: imported 0 item(s), quarantined 0, 0 already known"
    )

    intake.submit(MESSAGE)
    first = tmp_path / "first.tar"
    assert intake.export_ok(first) == [(first, 1)]
    station.ok("import", first)
    items = station.items()

    nothing_new = tmp_path / "nothing-new.tar"
    assert intake.export_ok(nothing_new) == [(nothing_new, 0)]
    assert station.ok("import", nothing_new).stdout.strip() == (
        f"{nothing_new}: imported 0 item(s), quarantined 0, 0 already known"
    )
    assert station.items() == items
    station.ok("custody", "verify")


def test_split_export_imports_in_order(tmp_path: Path, station: Station, intake: Intake) -> None:
    rng = random.Random(7)
    files = [(rng.randbytes(40_000 + n), f"photo-{n}.jpg", "image/jpeg") for n in range(5)]
    intake.submit(MESSAGE, files[:3])
    intake.submit("second visit", files[3:])
    limit = 100_000
    out = tmp_path / "usb" / "tamga.tar"
    out.parent.mkdir()
    written = intake.export_ok(out, "--max-size", str(limit))
    assert len(written) >= 3
    assert [path for path, _ in written] == [out] + [
        out.with_name(f"tamga-{n}.tar") for n in range(2, len(written) + 1)
    ]
    assert sum(count for _, count in written) == 2 + 2 * len(files)
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(p.name for p, _ in written)  # no .part
    for path, _ in written:
        assert path.stat().st_size <= limit

    imported = 0
    for path, count in written:  # each part in order, one command each
        result = station.ok("import", path)
        match = re.search(r"imported (\d+) item\(s\), quarantined 0", result.stdout)
        assert match, result.stdout
        imported += int(match.group(1))
        assert count > 0
    assert imported == 2 + len(files)
    assert "already imported" in station.ok("import", written[0][0]).stdout
    items = station.items()
    assert len(items) == 2 + len(files)
    assert sorted(i["sha256"] for i in items) == sorted(
        [sha256(MESSAGE.encode()), sha256(b"second visit")] + [sha256(content) for content, _, _ in files]
    )
    station.ok("custody", "verify")


def test_split_export_keeps_each_file_with_its_name(tmp_path: Path, station: Station, intake: Intake) -> None:
    rng = random.Random(7)
    files = [(rng.randbytes(40_000 + n), f"photo-{n}.jpg", "image/jpeg") for n in range(5)]
    intake.submit(MESSAGE, files)
    written = intake.export_ok(tmp_path / "tamga.tar", "--max-size", "100000")
    station.ok("import", *[path for path, _ in written])
    names = {i["sha256"]: i["name"] for i in station.items() if i["kind"] == "file"}
    assert names == {sha256(content): name for content, name, _ in files}


def test_envelopes_are_marked_exported_only_once_the_bundle_is_written(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    intake.submit(MESSAGE, FILES)
    unwritable = tmp_path / "not-a-directory"
    unwritable.write_text("a file, so nothing can be written under it\n")
    failed = intake.export(unwritable / "tamga.tar")
    assert_refused(failed)
    assert not list(tmp_path.glob("**/*.part"))

    missing_dir = intake.export(tmp_path / "unplugged" / "tamga.tar")
    assert_refused(missing_dir)

    bundle = tmp_path / "tamga.tar"
    assert intake.export_ok(bundle) == [(bundle, 5)]  # everything still there
    assert_refused(intake.export(bundle), "already exists")  # never overwrites a bundle
    station.ok("import", bundle)
    assert len(station.items()) == 3


def test_export_all_again_adds_no_duplicate_items(tmp_path: Path, station: Station, intake: Intake) -> None:
    intake.submit(MESSAGE, FILES)
    first = tmp_path / "first.tar"
    station.ok("import", intake.export_ok(first)[0][0])
    items = station.items()
    vault = sorted(p.name for p in station.vault.rglob("*.age"))

    again = tmp_path / "again.tar"
    assert intake.export_ok(again, "--all") == [(again, 5)]
    assert station.ok("import", again).stdout.strip() == (
        f"{again}: imported 0 item(s), quarantined 0, 3 already known"
    )
    assert station.items() == items
    assert sorted(p.name for p in station.vault.rglob("*.age")) == vault
    assert os.listdir(station.vault) and not (station.vault / ".staging").exists()
    station.ok("custody", "verify")


def test_station_commands(tmp_path: Path, station: Station, intake: Intake) -> None:
    """init never overwrites and can pin the server; pubkey prints what the operator installs."""
    public = json.loads((station.root / "station.json").read_text())
    lines = station.ok("pubkey", passphrase=None).stdout.splitlines()
    assert lines[-1] == public["recipient"] and lines[0].startswith("Fingerprint: ")
    assert station.ok("pubkey", "--signing", passphrase=None).stdout.split()[-1] == public["verify_key"]
    assert_refused(station.run("init"), "already exists")
    assert_refused(station.run("trust-server", "tamgapub1notakey"), "malformed verify key")

    fresh = Station(tmp_path / "fresh")
    assert_refused(fresh.run("init", passphrase="short"), "too short")
    assert not fresh.root.exists()
    assert_refused(fresh.run("list"), "not a station")
    fresh.ok("init", "--server-key", str(intake.key.verify_key))
    config = intake.root / "config.json"  # the operator installs the new station's recipient
    config.write_text(json.dumps({**json.loads(config.read_text()), "recipients": [str(fresh.recipient)]}))
    intake = Intake(intake.root)
    intake.submit(MESSAGE)
    bundle = intake.export_ok(tmp_path / "b.tar")[0][0]
    assert "imported 1 item(s)" in fresh.ok("import", bundle).stdout  # pinned by init
    intake.close()


def test_extract_writes_nothing_when_the_envelope_fails_its_final_check(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    intake.submit("", FILES[:1])
    station.ok("import", intake.export_ok(tmp_path / "b.tar")[0][0])
    (video,) = station.items()
    vaulted = station.vault / video["envelope_sha256"][:2] / (video["envelope_sha256"] + ".age")
    damaged = bytearray(vaulted.read_bytes())
    damaged[-1] ^= 0x80  # the last chunk: every chunk before it opens fine
    vaulted.write_bytes(bytes(damaged))
    out = tmp_path / "case" / "video.mp4"
    out.parent.mkdir()
    assert_refused(station.run("extract", video["id"], "--out", out), "payload")
    assert list(out.parent.iterdir()) == []  # neither the file nor a .part
    assert custody_actions(station.ok("custody", "show", video["id"]).stdout) == ["imported"]
