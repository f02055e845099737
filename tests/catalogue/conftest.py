"""Fixtures for the evidence catalogue: a station driven through `tamga-review`, an intake sealing
to it (Flask's test client, `tamga-intake export`), and one session-wide import of realistic and
hostile files that most tests read (copies are made for tests that change the catalogue).

Unlocking a station costs two scrypt (2^18) derivations. `Station.unlock` is wrapped for the
session by tests/support/station.py's cache, keyed on the key files and the passphrase typed: the
first unlock of each key set is real, later ones reuse the keys. The probe, the import and
everything else stay real.
"""

import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from review import media
from submission.app import create_app
from submission.cli import cli as intake_cli
from submission.datadir import create_data_dir
from submission.settings import load_settings, load_signing_key
from tests.catalogue import samples
from tests.intake.conftest import new_source
from tests.support import station as support
from tests.support.intake import exported, submit_form
from tests.support.station import CliStation, assert_ok, invoke, unlock_cache

PASSPHRASE = "catalogue test passphrase"
ACTOR = "catalogue-tester"


def assert_refused(result: Result, *needles: str) -> str:
    """Exit 1, one line on stderr starting with `Error: `, and no traceback; return the line.

    Unlike the other suites' refusals, the needles must match in case too."""
    return support.assert_refused(result, *needles, ignore_case=False)


# --- the station ----------------------------------------------------------------------------------


class Station(CliStation):
    PASSPHRASE = PASSPHRASE
    ACTOR = ACTOR

    def refused(self, *args: Any, needles: Sequence[str] = ()) -> str:
        return assert_refused(self.run(*args), *needles)

    def ids(self, *filters: Any) -> list[int]:
        return [row["id"] for row in self.items(*filters)]

    def show(self, item_id: int) -> dict[str, Any]:
        return dict(json.loads(self.ok("show", item_id, "--json").stdout))

    def custody_actions(self, item_id: int) -> list[str]:
        """The actions of `custody show ID`, in order."""
        return [line.split()[2] for line in self.ok("custody", "show", item_id).stdout.splitlines()]

    def verify(self) -> int:
        match = re.fullmatch(
            r"custody log verified: (\d+) events, head [0-9a-f]{64}\n", self.ok("custody", "verify").stdout
        )
        assert match
        return int(match.group(1))

    def events(self, obj: str | None = None) -> list[dict[str, Any]]:
        """Custody event bodies straight from the catalogue (optionally for one object)."""
        con = self.db()
        try:
            rows = con.execute("SELECT record FROM custody_events ORDER BY seq").fetchall()
        finally:
            con.close()
        bodies = [json.loads(record)["document"] for (record,) in rows]
        return [b for b in bodies if obj is None or b["object"] == obj]


@pytest.fixture(scope="session", autouse=True)
def catalogue_fast_unlock() -> Iterator[None]:
    # This suite's cache never read station.json before asking for the passphrase: kept so.
    with unlock_cache(check_station=False):
        yield


@pytest.fixture(scope="session")
def catalogue_station_template(tmp_path_factory: pytest.TempPathFactory) -> Station:
    return Station.create(tmp_path_factory.mktemp("catalogue-template") / "station")


@pytest.fixture
def station(tmp_path: Path, catalogue_station_template: Station) -> Station:
    """A fresh, empty station (no server pinned)."""
    return catalogue_station_template.copy_to(tmp_path / "station")


# --- the intake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    label: str
    content: bytes
    name: str
    declared_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class Intake:
    """An intake data directory sealing to one station, which has pinned its signing key."""

    def __init__(self, root: Path, station: Station) -> None:
        create_data_dir(root, [station.recipient])
        self.root = root
        station.ok("trust-server", load_signing_key(root).verify_key)
        self._app: Flask = create_app(load_settings(root))
        self._app.config["TESTING"] = True
        self.client: FlaskClient = self._app.test_client()
        new_source(self.client)

    def submit(self, message: str = "", files: Sequence[Upload] = ()) -> None:
        submit_form(self.client, message, [(u.content, u.name, u.declared_type) for u in files])

    def export(self, out: Path) -> Path:
        result = assert_ok(invoke(intake_cli, ["export", "--data-dir", self.root, "--out", out]))
        ((bundle, _),) = exported(result)
        return bundle

    def close(self) -> None:
        self._app.extensions["tamga.engine"].dispose()


def import_submissions(
    station: Station, workdir: Path, submissions: Sequence[tuple[str, Sequence[Upload]]]
) -> Result:
    """Submit (message, files) through the intake app, export, and import on the station."""
    intake = Intake(workdir / "intake", station)
    try:
        for message, files in submissions:
            intake.submit(message, files)
        bundle = intake.export(workdir / "bundle.tar")
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


@pytest.fixture(scope="session")
def evidence(tmp_path_factory: pytest.TempPathFactory, catalogue_station_template: Station) -> Evidence:
    work = tmp_path_factory.mktemp("evidence")
    station = catalogue_station_template.copy_to(work / "station")
    first, second, marker = evidence_uploads(work)
    assert not marker.exists()
    private_tmp = work / "tmp"
    private_tmp.mkdir(mode=0o700)
    calls: list[ProbeCall] = []
    real_probe = media.probe

    def recording_probe(path: Path, timeout: float = media.TIMEOUT_SECONDS) -> media.Facts:
        details = path.parent.stat(), path.stat()
        facts = real_probe(path, timeout)
        calls.append(
            ProbeCall(path, stat.S_IMODE(details[0].st_mode), stat.S_IMODE(details[1].st_mode), facts.status)
        )
        return facts

    submissions: list[tuple[str, Sequence[Upload]]] = [("", first[:4]), ("", first[4:]), ("", second)]
    submissions += [(text, ()) for text in MESSAGES.values()]
    with pytest.MonkeyPatch.context() as patch:
        # Every temporary directory of the import lands where this test can see it.
        patch.setattr(tempfile, "tempdir", str(private_tmp))
        patch.setattr(media, "probe", recording_probe)
        result = import_submissions(station, work, submissions)
    uploads = first + second
    messages = {
        label: next(r["id"] for r in station.items() if r["kind"] == "message" and r["sha256"] == _sha(text))
        for label, text in MESSAGES.items()
    }
    return Evidence(
        station=station,
        uploads={u.label: u for u in uploads},
        ids=ids_by_label(station, uploads),
        messages=messages,
        marker=marker,
        import_output=result.output,
        probe_calls=calls,
        private_tmp=private_tmp,
        has_video=samples.have_ffmpeg(),
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def catalogue(tmp_path: Path, evidence: Evidence) -> Evidence:
    """A private copy of the session's imported catalogue, for tests that change it."""
    copy = Evidence(**{**evidence.__dict__, "station": evidence.station.copy_to(tmp_path / "station")})
    return copy


def needs_video(evidence: Evidence) -> None:
    if not evidence.has_video:
        pytest.skip("ffmpeg/ffprobe are not installed: no video samples")
