"""CSV reports stay inert whichever separator the spreadsheet splits on (issue 11, item 7).

Excel in Russian, Kazakh or German locales opens a `.csv` splitting on `;`; others split on `,`
or a tab. A formula character that follows any of those inside a cell would begin a cell there,
so it is guarded like a cell's first character (docs/station.md, "Reports").
"""

import csv
import io
from pathlib import Path

import pytest

from tests.support.catalogue import import_submissions
from tests.support.station import Station

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = [
    'Almaty;=HYPERLINK("http://x")',
    "Almaty; +SUM(1)",
    "Almaty,-2",
    "Almaty\t@cmd",
    'Almaty;"=1+1"',
    "=1+1",
]
GUARDED = [
    'Almaty;\'=HYPERLINK("http://x")',
    "Almaty; '+SUM(1)",
    "Almaty,'-2",
    "Almaty\t'@cmd",
    'Almaty;"\'=1+1"',
    "'=1+1",
]


@pytest.fixture
def hostile_station(station: Station, tmp_path: Path) -> Station:
    """One message per hostile text; each item's region is that same text, typed by a reviewer."""
    import_submissions(station, tmp_path, [(text, ()) for text in HOSTILE])
    for row in station.items():
        text = station.show(row["id"])["text"]
        station.ok("tag", row["id"], "--region", text, "--settlement", text)
    return station


def csv_report(station: Station, tmp_path: Path, *args: str) -> str:
    out = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.csv"
    station.ok("report", "--format", "csv", "--out", out, *args)
    return out.read_text(encoding="utf-8")


def cells(document: str, delimiter: str) -> list[str]:
    """Every cell a spreadsheet splitting on `delimiter` would build (quotes honoured)."""
    return [cell for row in csv.reader(io.StringIO(document), delimiter=delimiter) for cell in row]


@pytest.mark.parametrize("identifying", [False, True], ids=["default", "identifying"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_no_cell_starts_a_formula_whatever_the_separator(
    hostile_station: Station, tmp_path: Path, delimiter: str, identifying: bool
) -> None:
    document = csv_report(hostile_station, tmp_path, *(["--include-identifying"] if identifying else []))
    for cell in cells(document, delimiter):
        assert not cell.lstrip(' "').startswith(FORMULA_START), f"{cell!r} would run as a formula"


def test_each_formula_character_gets_an_apostrophe(hostile_station: Station, tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(csv_report(hostile_station, tmp_path, "--include-identifying"))))
    header = rows[1]
    items = [dict(zip(header, row, strict=True)) for row in rows[2 : rows.index([])]]
    assert sorted(row["region"] for row in items) == sorted(GUARDED)
    assert sorted(row["settlement"] for row in items) == sorted(GUARDED)
    assert sorted(row["message"] for row in items) == sorted(GUARDED)


def test_harmless_separators_are_left_alone(station: Station, tmp_path: Path) -> None:
    import_submissions(station, tmp_path, [("a note", ())])
    (row,) = station.items()
    station.ok("tag", row["id"], "--region", "Almaty, Medeu; 12-14", "--settlement", "a-b, c")
    rows = list(csv.reader(io.StringIO(csv_report(station, tmp_path))))
    item = dict(zip(rows[0], rows[1], strict=True))
    assert (item["region"], item["settlement"]) == ("Almaty, Medeu; 12-14", "a-b, c")
