"""Cataloguing and the rest of the loop from the browser: each change is the custody event the CLI
writes (the same library call), compared with the CLI on a copy of the same station."""

import json
import tarfile
from pathlib import Path
from typing import Any

from tests.review.web.conftest import Browser, Evidence, Station


def bodies(station: Station, obj: str) -> list[dict[str, Any]]:
    """Custody events of an object without what differs between two runs (time, chain, actor)."""
    keep = ("action", "object", "hashes", "details")
    return [{k: e[k] for k in keep} for e in station.events(obj)]


def test_the_form_writes_the_events_the_cli_writes(
    reviewer: Browser, evidence: Evidence, tmp_path: Path
) -> None:
    item_id = evidence.ids["jpeg"]
    cli = evidence.station.copy_to(tmp_path / "cli-station")
    response = reviewer.post(
        f"/item/{item_id}/catalogue",
        {
            "incident": ["ballot.stuffing", "access.removed"],
            "polling_station": "112",
            "region": "Almaty",
            "settlement": "Almaty",
            "when": "2024-03-17T14:02+05:00",
            "tag": "night bus",
            "status": "verified",
            "note": "Matches the protocol photo",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    cli.ok(
        "tag", item_id, "--incident", "ballot.stuffing", "--incident", "access.removed",
        "--polling-station", "112", "--region", "Almaty", "--settlement", "Almaty",
        "--when", "2024-03-17T14:02+05:00", "--tag", "night", "--tag", "bus",
    )  # fmt: skip
    cli.ok("status", item_id, "verified")
    cli.ok("note", item_id, "--text", "Matches the protocol photo")
    web_events = evidence.station.events(f"item:{item_id}")
    assert bodies(evidence.station, f"item:{item_id}") == bodies(cli, f"item:{item_id}")
    assert [e["actor"] for e in web_events[-3:]] == ["web-tester"] * 3
    shown = evidence.station.show(item_id)
    assert shown["status"] == "verified" and shown["region"] == "Almaty"
    assert evidence.station.verify() == cli.verify()
    page = reviewer.get(f"/item/{item_id}").get_data(as_text=True)
    assert "Matches the protocol photo" in page and "tagged" in page and "Saved." in page


def test_a_bad_value_is_refused_with_the_librarys_message(reviewer: Browser, evidence: Evidence) -> None:
    before = len(evidence.station.events())
    response = reviewer.post(f"/item/{evidence.ids['jpeg']}/catalogue", {"when": "yesterday"})
    assert response.status_code == 400
    assert "is not an ISO 8601 date and time" in response.get_data(as_text=True)
    response = reviewer.post(f"/item/{evidence.ids['jpeg']}/catalogue", {"incident": "ballot.stufing"})
    assert "did you mean ballot.stuffing" in response.get_data(as_text=True)
    assert len(evidence.station.events()) == before


def test_mark_as_duplicate_is_a_status_event(reviewer: Browser, evidence: Evidence) -> None:
    item_id = evidence.ids["pdf"]
    assert reviewer.post(f"/item/{item_id}/duplicate").status_code == 303
    (event,) = [e for e in evidence.station.events(f"item:{item_id}") if e["action"] == "status"]
    assert event["details"] == {"from": "new", "to": "duplicate"}


def test_extract_to_a_path(reviewer: Browser, evidence: Evidence, tmp_path: Path) -> None:
    out = tmp_path / "protocol.pdf"
    response = reviewer.post(f"/item/{evidence.ids['pdf']}/extract", {"path": str(out)})
    assert response.status_code == 303
    assert out.read_bytes().startswith(b"%PDF-")
    again = reviewer.post(f"/item/{evidence.ids['pdf']}/extract", {"path": str(out)})
    assert again.status_code == 400 and "refusing to overwrite" in again.get_data(as_text=True)


def test_reply_and_export_the_outbox(reviewer: Browser, evidence: Evidence, tmp_path: Path) -> None:
    item_id = evidence.message
    submission = evidence.station.show(item_id)["submission"]
    page = reviewer.get(f"/submission/{submission}").get_data(as_text=True)
    assert 'action="/reply/' in page
    response = reviewer.post(f"/reply/{item_id}", {"text": "Which polling station was this?"})
    assert response.status_code == 303 and response.headers["Location"] == f"/submission/{submission}"
    assert "1 reply waits" in reviewer.get("/outbox").get_data(as_text=True)
    out = tmp_path / "outbox.tar"
    assert reviewer.post("/outbox", {"path": str(out)}).status_code == 303
    with tarfile.open(out) as bundle:
        assert sum(name.endswith(".age") for name in bundle.getnames()) == 1
    actions = [e["action"] for e in evidence.station.events()]
    assert actions[-2:] == ["replied", "outbox-exported"]
    assert "0 replies wait" in reviewer.get("/outbox").get_data(as_text=True)


def test_a_report_with_the_clis_defaults(reviewer: Browser, evidence: Evidence, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert reviewer.post("/reports", {"format": "json", "path": str(out)}).status_code == 303
    written = json.loads(out.read_text())
    assert written["includes_identifying_data"] is False
    assert written["items_total"] == len(evidence.station.items())
    cli_report = json.loads(evidence.station.ok("report", "--format", "json").stdout)
    assert cli_report["counts"] == written["counts"]
    assert "IMG_2024.JPG" not in out.read_text()


def test_import_from_a_path_and_an_upload(reviewer: Browser, evidence: Evidence, tmp_path: Path) -> None:
    from tests.support import media_samples as samples
    from tests.support.intake import make_intake, pin

    intake = make_intake(tmp_path / "intake", [evidence.station.recipient])
    pin(evidence.station, intake)
    try:
        intake.submit("a second message about PS 7", [(samples.plain_jpeg(seed=9), "a.jpg", "image/jpeg")])
        ((first, _),) = intake.export_ok(tmp_path / "one.tar")
        intake.submit("and a third, about PS 8")
        ((second, _),) = intake.export_ok(tmp_path / "two.tar")
    finally:
        intake.close()
    before = len(evidence.station.items())
    response = reviewer.post("/import/path", {"path": str(first)})
    assert response.status_code == 303
    assert "Imported 2 item(s)" in reviewer.get("/").get_data(as_text=True)
    with open(second, "rb") as upload:
        response = reviewer.post(
            "/import/upload", {"bundle": (upload, "two.tar")}, content_type="multipart/form-data"
        )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert len(evidence.station.items()) == before + 3
    assert list((evidence.station.root / "incoming").iterdir()) == []  # the upload is removed
    assert reviewer.post("/import/path", {"path": str(first)}).status_code == 303
    assert "already imported" in reviewer.get("/").get_data(as_text=True)
