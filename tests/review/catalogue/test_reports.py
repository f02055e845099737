"""Reports: counts and items as CSV, JSON and HTML; safe to share by default, safe to open always.

The catalogue holds messages with HTML, spreadsheet formulas and a bidirectional override, and
files named with HTML and with a bidi override (tests/support/catalogue.py `MESSAGES`).
"""

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support import media_samples as samples
from tests.support.browser import ARTIFACTS
from tests.support.catalogue import BIDI_NAME, IMG_NAME, MESSAGES, Evidence
from tests.support.station import Station

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "p", "h1", "h2", "table", "tr", "th", "td"}


def report(station: Station, tmp_path: Path, fmt: str, *args: str) -> str:
    out = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.{fmt}"
    station.ok("report", "--format", fmt, "--out", out, *args)
    assert (out.stat().st_mode & 0o777) == 0o600
    return out.read_text(encoding="utf-8")


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert_html(document: str) -> None:
    assert "<script" not in document.lower()
    assert "<img" not in document.lower()
    parser = Elements()
    parser.feed(document)
    parser.close()
    tags = {tag for tag, _ in parser.tags}
    assert tags <= ALLOWED_TAGS, f"unexpected elements: {tags - ALLOWED_TAGS}"
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert name not in ("src", "href", "action", "srcset", "background"), (tag, name, value)
            assert not name.startswith("on"), (tag, name)
            assert "http:" not in (value or "") and "https:" not in (value or ""), (tag, name, value)
    csp = [
        dict(attrs)
        for tag, attrs in parser.tags
        if tag == "meta" and ("http-equiv", "Content-Security-Policy") in attrs
    ]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")
    assert "script-src" not in (csp[0]["content"] or ""), "no script may be allowed"


def csv_all_rows(document: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(document)))


def csv_rows(document: str) -> list[list[str]]:
    """The item table: every row up to the empty row that comes before the counts."""
    rows = csv_all_rows(document)
    return rows[: rows.index([])] if [] in rows else rows


def assert_no_formula_cells(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"a spreadsheet would evaluate {cell!r}"


# --- escaping -------------------------------------------------------------------------------------


def test_html_report_escapes_hostile_messages_and_file_names(catalogue: Evidence, tmp_path: Path) -> None:
    document = report(catalogue.station, tmp_path, "html", "--include-identifying")
    assert_inert_html(document)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in document
    assert "=HYPERLINK(&#34;http://x&#34;)" in document or "=HYPERLINK(&quot;http://x&quot;)" in document
    assert "\u202e" not in document, "a raw bidi override would reorder what the reader sees"
    assert "Protocol copy: \\u202eexe.fdp" in document
    assert "ballot-photo-\\u202egpj.exe" in document


def test_default_html_report_is_inert_too(catalogue: Evidence, tmp_path: Path) -> None:
    station = catalogue.station
    station.ok(
        "tag", catalogue.ids["plain"], "--region", "<b>Almaty</b>\u202e", "--settlement", "<script>x</script>"
    )
    document = report(station, tmp_path, "html")
    assert_inert_html(document)
    assert "&lt;b&gt;Almaty&lt;/b&gt;\\u202e" in document
    assert "\u202e" not in document


def test_csv_report_neutralises_formulas_and_shows_bidi_overrides(
    catalogue: Evidence, tmp_path: Path
) -> None:
    evidence = catalogue
    document = report(evidence.station, tmp_path, "csv", "--include-identifying")
    rows = csv_rows(document)
    assert rows[0][0].startswith("WARNING")
    header, items = rows[1], rows[2:]
    assert_no_formula_cells(rows)
    by_id = {int(row[0]): dict(zip(header, row, strict=True)) for row in items}
    message = {label: by_id[item_id]["message"] for label, item_id in evidence.messages.items()}
    assert message["hyperlink"] == "'" + MESSAGES["hyperlink"]
    assert message["sum"] == "'+SUM(1)"
    assert message["minus"] == "'-2"
    assert message["at"] == "'@cmd"
    assert message["bidi"] == "Protocol copy: \\u202eexe.fdp"
    assert message["script"] == MESSAGES["script"], "CSV is not HTML: text stays as sent"
    assert by_id[evidence.ids["bidi-name"]]["name"] == BIDI_NAME.replace("\u202e", "\\u202e")
    assert by_id[evidence.ids["html-name"]]["name"] == IMG_NAME
    assert "\u202e" not in document


def test_csv_report_neutralises_what_reviewers_typed(catalogue: Evidence, tmp_path: Path) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    station.ok("tag", item, "--region", "+SUM(1)", "--settlement", "@cmd", "--polling-station=-2")
    station.ok("tag", catalogue.ids["near"], "--region", '=HYPERLINK("http://x")', "--settlement", "\tTAB")
    rows = csv_rows(report(station, tmp_path, "csv"))
    assert rows[0][0] == "id", "a default report carries no warning line"
    assert_no_formula_cells(rows)
    row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == str(item)), strict=True))
    assert (row["region"], row["settlement"], row["polling_station"]) == ("'+SUM(1)", "'@cmd", "'-2")
    near_row = dict(
        zip(rows[0], next(r for r in rows[1:] if r[0] == str(catalogue.ids["near"])), strict=True)
    )
    assert near_row["region"] == "'" + '=HYPERLINK("http://x")'


# --- what a default report leaves out -------------------------------------------------------------


def identifying_strings(evidence: Evidence) -> list[str]:
    shown = evidence.item("exif")
    values = [u.name for u in evidence.uploads.values()]
    values += ["IMG_0412", "VID_20240317", "from-telegram", "onerror", "ballot-photo"]
    values += ["43.25", "76.95", "43.2500", samples.DEVICE_SERIAL, samples.OWNER_NAME, "Aigerim"]
    values += ["alert(1)", "Stuffing seen", "HYPERLINK", "SUM(1)", "@cmd", "Protocol copy", "exe.fdp"]
    values.append(shown["source"])
    return values


@pytest.mark.parametrize("fmt", ["csv", "json", "html"])
def test_reports_leave_out_identifying_data_by_default(catalogue: Evidence, tmp_path: Path, fmt: str) -> None:
    evidence = catalogue
    document = report(evidence.station, tmp_path, fmt)
    for value in identifying_strings(evidence):
        assert value not in document, f"{value!r} is in a default {fmt} report"
    assert "WARNING" not in document
    if fmt == "json":
        data = json.loads(document)
        assert data["includes_identifying_data"] is False
        assert data["items_total"] == len(evidence.uploads) + len(evidence.messages)
        forbidden = {"name", "gps", "device_serial", "owner_name", "source", "message", "device_make"}
        for row in data["items"]:
            assert not forbidden & set(row), row
        exif = next(r for r in data["items"] if r["id"] == evidence.ids["exif"])
        assert exif["identifying_metadata"] == ["gps", "device_serial", "owner_name"], "flagged, not shown"


def test_default_reports_do_not_let_a_reader_confirm_a_message_text(
    catalogue: Evidence, tmp_path: Path
) -> None:
    evidence = catalogue
    digests = {label: hashlib.sha256(text.encode()).hexdigest() for label, text in MESSAGES.items()}
    for fmt in ("csv", "json", "html"):
        document = report(evidence.station, tmp_path, fmt)
        leaked = [label for label, digest in digests.items() if digest in document]
        assert not leaked, f"the {fmt} report confirms the text of messages {leaked}"


@pytest.mark.parametrize("fmt", ["csv", "json", "html"])
def test_include_identifying_puts_them_in_and_says_so_at_the_top(
    catalogue: Evidence, tmp_path: Path, fmt: str
) -> None:
    evidence = catalogue
    document = report(evidence.station, tmp_path, fmt, "--include-identifying")
    source = evidence.item("exif")["source"]
    for value in (
        "IMG_0412.JPG",
        "43.25",
        "76.95",
        samples.DEVICE_SERIAL,
        samples.OWNER_NAME,
        source,
        "Stuffing seen",
    ):
        assert value in document, f"{value!r} missing from an identifying {fmt} report"
    if fmt == "csv":
        assert document.splitlines()[0].startswith("WARNING")
    elif fmt == "json":
        data = json.loads(document)
        assert next(iter(data)) == "includes_identifying_data" and data["includes_identifying_data"] is True
    else:
        body = document.split("<body>", 1)[1]
        assert body.lstrip().startswith('<p class="warning">WARNING'), body[:200]
        assert body.index("WARNING") < body.index("<h1>")


def test_report_counts_by_incident_region_station_and_day(catalogue: Evidence, tmp_path: Path) -> None:
    station = catalogue.station
    a, b = catalogue.ids["plain"], catalogue.ids["near"]
    station.ok("tag", a, "--incident", "ballot.stuffing", "--region", "Almaty", "--polling-station", "112",
               "--when", "2024-03-17T23:30+05:00")  # fmt: skip
    station.ok(
        "tag", b, "--incident", "ballot.stuffing", "--incident", "coercion.vote-buying", "--region", "Almaty"
    )
    data = json.loads(report(station, tmp_path, "json"))
    total = data["items_total"]
    assert data["counts"]["incident"] == [
        {"code": "ballot.stuffing", "name": "Ballot stuffing", "items": 2},
        {"code": "coercion.vote-buying", "name": "Vote buying", "items": 1},
    ]
    assert {"value": "Almaty", "items": 2} in data["counts"]["region"]
    assert {"value": "unknown", "items": total - 2} in data["counts"]["region"]
    assert {"value": "112", "items": 1} in data["counts"]["polling_station"]
    assert {"value": "2024-03-17", "items": 1} in data["counts"]["day"], "the incident's own date counts"
    assert sum(c["items"] for c in data["counts"]["day"]) == total
    filtered = json.loads(report(station, tmp_path, "json", "--incident", "coercion.vote-buying"))
    assert [r["id"] for r in filtered["items"]] == [b]


def test_csv_report_holds_the_counts_too(catalogue: Evidence, tmp_path: Path) -> None:
    station = catalogue.station
    for label in ("plain", "near", "shell-jpg"):
        station.ok("tag", catalogue.ids[label], "--incident", "ballot.stuffing", "--region", "Almaty")
    rows = csv_all_rows(report(station, tmp_path, "csv"))
    summary = rows[rows.index([]) + 1 :]
    assert any("ballot.stuffing" in row and "3" in row for row in summary), "no count by incident"
    assert any("Almaty" in row and "3" in row for row in summary), "no count by region"


def test_a_report_of_an_empty_catalogue(station: Station, tmp_path: Path) -> None:
    assert csv_rows(report(station, tmp_path, "csv")) == [["id"]]
    data = json.loads(report(station, tmp_path, "json"))
    assert (data["items_total"], data["items"], data["counts"]["incident"]) == (0, [], [])
    assert_inert_html(report(station, tmp_path, "html"))
    assert [e["action"] for e in station.events("report")] == ["reported"] * 3
    station.verify()


# --- files and custody ----------------------------------------------------------------------------


def test_report_never_overwrites_an_existing_file(catalogue: Evidence, tmp_path: Path) -> None:
    station = catalogue.station
    events = station.verify()
    existing = tmp_path / "report.html"
    existing.write_text("the reviewer's earlier work")
    station.refused("report", "--format", "html", "--out", existing, needles=["already exists"])
    assert existing.read_text() == "the reviewer's earlier work"
    target = tmp_path / "elsewhere.html"
    link = tmp_path / "link.html"
    link.symlink_to(target)
    station.refused("report", "--format", "csv", "--out", link, needles=["already exists"])
    assert not target.exists(), "a dangling symlink must not redirect the report"
    assert station.verify() == events, "a refused report is not logged"


def test_generating_a_report_is_a_custody_event_holding_its_hash(catalogue: Evidence, tmp_path: Path) -> None:
    station = catalogue.station
    events, reports = station.verify(), len(station.events("report"))
    out = tmp_path / "report.csv"
    station.ok("report", "--format", "csv", "--out", out, "--include-identifying")
    stdout = station.ok("report", "--format", "json").stdout
    assert station.verify() == events + 2 + len(catalogue.messages), "plus one `opened` per message read"
    first, second = station.events("report")[reports:]
    assert first["action"] == second["action"] == "reported"
    assert first["hashes"]["report_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert first["details"] == {
        "format": "csv",
        "items": len(catalogue.uploads) + len(catalogue.messages),
        "includes_identifying_data": True,
    }
    assert second["hashes"]["report_sha256"] == hashlib.sha256(stdout.encode()).hexdigest()
    assert second["details"]["includes_identifying_data"] is False
    opened = [e for e in station.events()[events:] if e["action"] == "opened"]
    assert sorted(e["object"] for e in opened) == sorted(f"item:{i}" for i in catalogue.messages.values())


# --- in a real browser ----------------------------------------------------------------------------


@pytest.mark.browser
def test_the_html_report_renders_inert_in_headless_chromium(catalogue: Evidence, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    station = catalogue.station
    hostile = [catalogue.messages["script"], catalogue.messages["bidi"], catalogue.ids["html-name"]]
    hostile += [catalogue.messages["hyperlink"], catalogue.ids["bidi-name"], catalogue.ids["exif"]]
    for item in hostile:
        station.ok(
            "tag", item, "--incident", "ballot.stuffing", "--region", "Almaty", "--polling-station", "112"
        )
    page = tmp_path / "report.html"
    station.ok(
        "report", "--format", "html", "--out", page, "--include-identifying", "--incident", "ballot.stuffing"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "catalogue-report.png"
    screenshot.unlink(missing_ok=True)
    common = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path)}
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=True,
    ).stdout
    assert "<script" not in dom.lower() and "<img" not in dom.lower(), "the browser built a live element"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    subprocess.run(
        [*common, "--window-size=3600,1250", f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True, timeout=90, env=env, check=True,
    )  # fmt: skip
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
