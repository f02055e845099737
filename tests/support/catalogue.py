"""The evidence catalogue's test material: uploads, one realistic and hostile import that most
catalogue tests read (tests/review/catalogue/conftest.py's `evidence`), and submitting through the
intake app then importing on a station."""

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.support import media_samples as samples
from tests.support.intake import make_intake, pin
from tests.support.station import Station


@dataclass(frozen=True)
class Upload:
    label: str
    content: bytes
    name: str
    declared_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def import_submissions(
    station: Station, workdir: Path, submissions: Sequence[tuple[str, Sequence[Upload]]]
) -> Result:
    """Submit (message, files) through the intake app, export, and import on the station."""
    intake = make_intake(workdir / "intake", [station.recipient])
    pin(station, intake)
    try:
        for message, files in submissions:
            intake.submit(message, [(u.content, u.name, u.declared_type) for u in files])
        ((bundle, _),) = intake.export_ok(workdir / "bundle.tar")
    finally:
        intake.close()
    return station.ok("import", bundle)


def ids_by_label(station: Station, uploads: Sequence[Upload]) -> dict[str, int]:
    """Map each upload to its item by content hash and file name (both must round-trip)."""
    files = [row for row in station.items() if row["kind"] == "file"]
    found: dict[str, int] = {}
    for upload in uploads:
        (item_id,) = [r["id"] for r in files if (r["sha256"], r["name"]) == (upload.sha256, upload.name)]
        found[upload.label] = item_id
    return found


# --- one realistic, hostile import shared by the session ------------------------------------------

MESSAGES = {
    "script": "Stuffing seen at PS 112 <script>alert(1)</script>",
    "hyperlink": '=HYPERLINK("http://x")',
    "sum": "+SUM(1)",
    "minus": "-2",
    "at": "@cmd",
    "bidi": "Protocol copy: \u202eexe.fdp",
}
IMG_NAME = "<img src=x onerror=alert(1)>.jpg"
BIDI_NAME = "ballot-photo-\u202egpj.exe"  # shows as "ballot-photo-exe.jpg"


@dataclass
class ProbeCall:
    path: Path
    directory_mode: int
    file_mode: int
    status: str


@dataclass
class Evidence:
    station: Station
    uploads: dict[str, Upload]
    ids: dict[str, int]
    messages: dict[str, int]
    marker: Path
    import_output: str
    probe_calls: list[ProbeCall] = field(default_factory=list)
    private_tmp: Path = Path()
    has_video: bool = False

    def item(self, label: str) -> dict[str, Any]:
        return self.station.show(self.ids[label])


def evidence_uploads(tmp: Path) -> tuple[list[Upload], list[Upload], Path]:
    """(first submission's files, second submission's files, shell marker)."""
    exif = samples.exif_jpeg(seed=1)
    shell_jpg, shell_mp4, marker = samples.shell_names(os.urandom(6).hex())
    first = [
        Upload("exif", exif, "IMG_0412.JPG", "image/jpeg"),
        Upload("plain", samples.plain_jpeg(seed=2), "from-telegram.jpg", "image/jpeg"),
        Upload("near", samples.near_duplicate_jpeg(seed=1), "IMG_0412-small.jpg", "image/jpeg"),
        Upload("bomb", samples.bomb_png(20_000, 20_000), "ballots.png", "image/png"),
        Upload("bomb-warning", samples.bomb_png(9_000, 9_000), "protocol-scan.png", "image/png"),
        Upload("shell-jpg", samples.plain_jpeg(seed=4), shell_jpg, "image/jpeg"),
        # A photo named and declared as a video: the type must be sniffed from the bytes.
        Upload("shell-mp4", samples.plain_jpeg(seed=5), shell_mp4, "video/mp4"),
        Upload("html-name", samples.plain_jpeg(seed=6), IMG_NAME, "image/jpeg"),
        Upload("bidi-name", samples.plain_jpeg(seed=7), BIDI_NAME, "image/jpeg"),
    ]
    if samples.have_ffmpeg():
        video = samples.mp4(tmp)
        first += [
            Upload("video", video, "VID_20240317_140200.mp4", "video/mp4"),
            Upload("video-truncated", samples.truncated(video), "VID_20240317_140500.mp4", "video/mp4"),
        ]
    second = [Upload("exif-again", exif, "IMG_0412 (1).JPG", "image/jpeg")]
    return first, second, marker


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def needs_video(evidence: Evidence) -> None:
    if not evidence.has_video:
        pytest.skip("ffmpeg/ffprobe are not installed: no video samples")
