"""A request the station refuses is refused before the passphrase is asked (docs/station.md).

Each command runs with no passphrase available at all: the refusal must be about the request,
never `no passphrase`.
"""

from pathlib import Path

import pytest

from tests.support.intake import Intake
from tests.support.station import Station, assert_refused


@pytest.fixture
def message_id(station: Station, intake: Intake, tmp_path: Path) -> int:
    intake.submit("Ballot box left unsealed at PS 12.")
    (bundle, _), *_ = intake.export_ok(tmp_path / "b.tar")
    station.ok("import", bundle)
    (row,) = station.items()
    return int(row["id"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["tag", "{id}", "--incident", "ballot.stufing"], "unknown incident code"),
        (["tag", "{id}", "--tag", "two words"], "must be one word"),
        (["tag", "{id}", "--when", "2024-03-17T14:02"], "no UTC offset"),
        (["tag", "{id}", "--region", " "], "--region is empty"),
        (["tag", "{id}"], "nothing to tag"),
        (["tag", "999", "--tag", "night"], "no item 999"),
        (["status", "999", "verified"], "no item 999"),
        (["note", "{id}", "--text", "  "], "the note is empty"),
        (["show", "999"], "no item 999"),
        (["extract", "{id}", "--out", "{existing}"], "already exists"),
        (["report", "--format", "csv", "--out", "{existing}"], "already exists"),
    ],
)
def test_refused_without_asking_for_the_passphrase(
    station: Station, message_id: int, tmp_path: Path, args: list[str], needle: str
) -> None:
    existing = tmp_path / "earlier-work.txt"
    existing.write_text("kept")
    filled = [a.format(id=message_id, existing=existing) for a in args]
    line = assert_refused(station.run(*filled, passphrase=None), needle)
    assert "passphrase" not in line
    assert existing.read_text() == "kept"


def test_the_control_asks_for_it(station: Station, message_id: int) -> None:
    """Without the checks above failing, the same commands do need the passphrase."""
    assert_refused(station.run("tag", message_id, "--tag", "night", passphrase=None), "no passphrase")
