"""Envelopes sealed in the browser and uploaded over tus (submission/tus.py) export and import on a
station exactly like the no-JS path's: same items, names, types and bytes."""

from pathlib import Path
from typing import Any

from tests.support.forms import submit_form, submit_token
from tests.support.intake import Intake, deliver
from tests.support.journey import FILES, MESSAGE
from tests.support.station import Station
from tests.support.tus import TusClient, flask_send, sealed_submission

SHOWN = ("kind", "name", "type", "size", "sha256", "text", "probe", "media", "status")


def shape(items: list[dict[str, Any]], station: Station) -> list[tuple[Any, ...]]:
    """What reviewers see of each item, without ids, days or which source."""
    shown = [tuple(repr(station.show(item["id"]).get(key)) for key in SHOWN) for item in items]
    assert all(row[1] != "None" for row in shown if row[0] == "'file'")  # names and types arrived
    return sorted(shown)


def test_browser_sealed_envelopes_import_like_no_js_ones(
    tmp_path: Path, intake: Intake, station: Station
) -> None:
    no_js = intake.new_source()
    submit_form(no_js.client, MESSAGE, FILES)
    browser = intake.new_source()
    tus = TusClient(flask_send(browser.client), submit_token(browser.client))
    ids = tus.upload_all(sealed_submission([station.recipient], MESSAGE, FILES), piece=50_000)
    assert tus.commit(ids).status == 303

    assert deliver(station, intake, tmp_path / "bundle") == 2 * (1 + 2 * len(FILES))
    sources = {row[0] for row in intake.query("SELECT source_id FROM submissions")}
    assert len(sources) == 2
    items = station.items()
    by_source = [[item for item in items if item["source"] == source] for source in sorted(sources)]
    assert len(by_source[0]) == len(by_source[1]) > 0
    assert shape(by_source[0], station) == shape(by_source[1], station)
