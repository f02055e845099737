"""A default report cannot confirm that a known file was submitted (issue 11, item 7).

Whoever holds a copy of a video can hash it or measure it; a shared report that carries each
file's SHA-256 or exact size would tell them that this very file reached the monitors. Only
`--include-identifying` reports carry them, and they say so at the top.
"""

import csv
import io
import json
from pathlib import Path

import pytest

from tests.support.catalogue import Upload, import_submissions
from tests.support.media_samples import plain_jpeg
from tests.support.station import Station

PHOTO = Upload("photo", plain_jpeg(seed=11), "IMG_2231.JPG", "image/jpeg")
SCAN = Upload("scan", b"%PDF-1.4 protocol of PS 112\n" * 37, "protocol.pdf", "application/pdf")


@pytest.fixture
def filed(station: Station, tmp_path: Path) -> Station:
    import_submissions(station, tmp_path, [("Seen at PS 112", [PHOTO, SCAN])])
    return station


def report(station: Station, tmp_path: Path, fmt: str, *args: str) -> str:
    out = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.{fmt}"
    station.ok("report", "--format", fmt, "--out", out, *args)
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["csv", "json", "html"])
def test_a_default_report_carries_no_file_hash_or_size(filed: Station, tmp_path: Path, fmt: str) -> None:
    document = report(filed, tmp_path, fmt)
    for upload in (PHOTO, SCAN):
        assert upload.sha256 not in document, f"a default {fmt} report confirms {upload.label}"
    if fmt == "json":
        for row in json.loads(document)["items"]:
            assert not {"sha256", "size"} & set(row), row
    if fmt == "csv":
        header = next(csv.reader(io.StringIO(document)))
        assert not {"sha256", "size"} & set(header), header
    if fmt == "html":
        assert "<th>sha256</th>" not in document and "<th>size</th>" not in document


@pytest.mark.parametrize("fmt", ["csv", "json", "html"])
def test_an_identifying_report_keeps_them_and_says_so(filed: Station, tmp_path: Path, fmt: str) -> None:
    document = report(filed, tmp_path, fmt, "--include-identifying")
    for upload in (PHOTO, SCAN):
        assert upload.sha256 in document
    if fmt == "json":
        data = json.loads(document)
        assert data["includes_identifying_data"] is True
        files = {row["name"]: row for row in data["items"] if row["kind"] == "file"}
        for upload in (PHOTO, SCAN):
            assert (files[upload.name]["sha256"], files[upload.name]["size"]) == (
                upload.sha256,
                len(upload.content),
            )
    else:
        warning = document.splitlines()[0] if fmt == "csv" else document.split('class="warning">', 1)[1]
        assert "WARNING" in warning and "SHA-256" in warning.split("</p>")[0]
        assert "exact sizes" in warning.split("</p>")[0]
