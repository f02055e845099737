"""Text a source controls cannot forge lines in `list`, `show` or `custody show` (issue 11, item 7).

A file's name and declared type are whatever the source's browser (or a crafted client) sealed
into the metadata envelope; the intake never reads them. Human-readable output shows every
control character, newlines and tabs included, as a visible escape, so one item is one line of
`list` and one field is one line of `show`. `--json` keeps the exact text.
"""

import json
from pathlib import Path

from crypto import seal_bytes
from review.cli import cli as review_cli
from tests.support.bundles import manifest_document, manifest_entry, member, sealed_manifest, sha256, tar
from tests.support.intake import Intake
from tests.support.station import Station, assert_ok, invoke

FORGED_LINE = "\n   99  file     verified       2024-03-17             7  forged.pdf"
NAME = "protocol.pdf" + FORGED_LINE + "\r\x1b[2K\ttab\u2028sep"
DECLARED_TYPE = "application/pdf\nstatus: verified"
MESSAGE = "Seen at PS 7.\nid: 1"


def import_hostile_names(station: Station, intake: Intake, tmp_path: Path) -> dict[str, int]:
    """A hand-built bundle, validly signed by the pinned intake: a file with a hostile name, a message."""
    content = seal_bytes(b"%PDF-1.4 protocol scan", [station.recipient])
    metadata = json.dumps({"name": NAME, "type": DECLARED_TYPE}).encode()
    sealed_metadata = seal_bytes(metadata, [station.recipient])
    message = seal_bytes(MESSAGE.encode(), [station.recipient])
    entries = [
        manifest_entry(content, "file-content", 0),
        manifest_entry(sealed_metadata, "file-metadata", 0),
        manifest_entry(message, "message", 1),
    ]
    document = manifest_document(intake.key, [station.recipient], 1, entries)
    name, data = sealed_manifest(document, intake.key, [station.recipient])
    envelopes = [member(sha256(e) + ".age", e) for e in (content, sealed_metadata, message)]
    bundle = tmp_path / "hostile.tar"
    bundle.write_bytes(tar(member(name, data), *envelopes))
    assert "imported 2 item(s)" in station.ok("import", bundle).stdout
    return {row["kind"]: row["id"] for row in station.items()}


def test_list_prints_one_line_per_item(station: Station, intake: Intake, tmp_path: Path) -> None:
    ids = import_hostile_names(station, intake, tmp_path)
    lines = station.ok("list").stdout.splitlines()
    assert len(lines) == 2, lines
    assert [int(line.split()[0]) for line in lines] == sorted(ids.values())
    (file_line,) = [line for line in lines if int(line.split()[0]) == ids["file"]]
    assert file_line.endswith(
        "protocol.pdf\\u000a   99  file     verified       2024-03-17             7  forged.pdf"
        "\\u000d\\u001b[2K\\u0009tab\\u2028sep"
    )


def test_show_prints_one_line_per_field(station: Station, intake: Intake, tmp_path: Path) -> None:
    ids = import_hostile_names(station, intake, tmp_path)
    facts = json.loads(station.ok("show", ids["file"], "--json").stdout)
    lines = station.ok("show", ids["file"]).stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == list(facts), lines
    assert "type: application/pdf\\u000astatus: verified" in lines
    assert not any(line.startswith("status: verified") for line in lines)


def test_json_keeps_the_exact_text(station: Station, intake: Intake, tmp_path: Path) -> None:
    ids = import_hostile_names(station, intake, tmp_path)
    (row,) = [row for row in station.items() if row["id"] == ids["file"]]
    assert (row["name"], row["type"]) == (NAME, DECLARED_TYPE)
    facts = json.loads(station.ok("show", ids["file"], "--json").stdout)
    assert (facts["name"], facts["type"]) == (NAME, DECLARED_TYPE)


def test_a_message_keeps_its_lines_below_the_fields(station: Station, intake: Intake, tmp_path: Path) -> None:
    ids = import_hostile_names(station, intake, tmp_path)
    facts = json.loads(station.ok("show", ids["message"], "--json").stdout)
    shown = station.ok("show", ids["message"]).stdout
    fields, text = shown.split("\n\n", 1)
    assert len(fields.splitlines()) == len(facts) - 1, "every field but the text on one line"
    assert text == MESSAGE + "\n"


def test_custody_show_prints_one_line_per_event(station: Station, intake: Intake, tmp_path: Path) -> None:
    ids = import_hostile_names(station, intake, tmp_path)
    forged_actor = "eve\n     1  2024-03-17T00:00:00+00:00  extracted     mallory  {}"
    env = {"TAMGA_PASSPHRASE": Station.PASSPHRASE, "TAMGA_ACTOR": forged_actor, "TAMGA_STATION": None}
    assert_ok(invoke(review_cli, ["--station", station.root, "tag", ids["file"], "--tag", "night"], env))
    lines = station.ok("custody", "show", ids["file"]).stdout.splitlines()
    assert [line.split()[2] for line in lines] == ["imported", "tagged"], lines
    assert "eve\\u000a     1" in lines[1]
