"""Working copies: metadata stripped, clips cut in the sandbox, sealed, linked, logged; originals kept."""

import json
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import media_samples as samples
from tests.support.bundles import sha256
from tests.support.intake import stocked_station
from tests.support.station import Station, assert_refused
from tests.support.worker import this_trees_worker

needs_ffmpeg = pytest.mark.skipif(not samples.have_ffmpeg(), reason="needs ffmpeg and ffprobe")
PHOTO = samples.exif_jpeg(7)
MESSAGE = "Ballot box opened before the count at PS 112."


@dataclass(frozen=True)
class Loaded:
    station: Station
    photo: int
    video: int
    message: int
    video_bytes: bytes


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Iterator[Loaded]:
    """A station holding a photo with EXIF and GPS, a video with a GPS position, and a message."""
    tmp = tmp_path_factory.mktemp("derive")
    video = samples.mp4(tmp) if samples.have_ffmpeg() else b"\x00\x00\x00\x18ftypmp42 not a video"
    files = [(PHOTO, "IMG_0001.jpg", "image/jpeg"), (video, "VID_0001.mp4", "video/mp4")]
    station = stocked_station(station_template, tmp, (MESSAGE, files))
    found = {item["sha256"]: item for item in station.items()}
    message = next(item["id"] for item in found.values() if item["kind"] == "message")
    yield Loaded(station, found[sha256(PHOTO)]["id"], found[sha256(video)]["id"], message, video)


@pytest.fixture
def station(tmp_path: Path, loaded: Loaded) -> Iterator[Station]:
    with this_trees_worker(tmp_path):
        yield loaded.station.copy_to(tmp_path / "station")


def vault_files(station: Station) -> dict[str, str]:
    return {str(p.relative_to(station.vault)): sha256(p.read_bytes()) for p in station.vault.rglob("*.age")}


def derived_id(stdout: str) -> int:
    return int(stdout.split()[2])


def extracted(station: Station, item_id: int, out: Path) -> bytes:
    station.ok("extract", item_id, "--out", out)
    return out.read_bytes()


def test_strip_metadata_from_a_photo(tmp_path: Path, loaded: Loaded, station: Station) -> None:
    before = vault_files(station)
    result = station.ok("derive", loaded.photo, "--strip-metadata")
    copy_id = derived_id(result.stdout)
    assert f"from item {loaded.photo} (strip-metadata)" in result.stdout
    copy = next(item for item in station.items() if item["id"] == copy_id)
    assert copy["derived_from"] == loaded.photo
    assert copy["identifying_metadata"] == []
    assert not {"gps", "device_serial", "owner_name", "device_make"} & set(copy["media"])
    assert copy["media"]["width"] == 640
    original = next(item for item in station.items() if item["id"] == loaded.photo)
    assert original["derivatives"] == [copy_id]
    assert original["sha256"] == sha256(PHOTO) and "gps" in original["identifying_metadata"]
    after = vault_files(station)
    assert {k: v for k, v in after.items() if k in before} == before  # the original's envelope unchanged
    assert len(after) == len(before) + 1
    data = extracted(station, copy_id, tmp_path / "copy.jpg")
    assert sha256(data) == copy["sha256"] and data[:3] == b"\xff\xd8\xff"
    assert samples.DEVICE_SERIAL.encode() not in data and b"Exif" not in data
    assert extracted(station, loaded.photo, tmp_path / "original.jpg") == PHOTO


def test_the_derived_event_names_both_hashes_and_the_operation(loaded: Loaded, station: Station) -> None:
    copy_id = derived_id(station.ok("derive", loaded.photo, "--strip-metadata").stdout)
    con = station.db()
    (text,) = con.execute(
        "SELECT record FROM custody_events WHERE object = ? ORDER BY seq LIMIT 1", (f"item:{copy_id}",)
    ).fetchone()
    (envelope,) = con.execute("SELECT envelope_sha256 FROM items WHERE id = ?", (loaded.photo,)).fetchone()
    con.close()
    body = json.loads(text)["document"]
    copy = next(item for item in station.items() if item["id"] == copy_id)
    assert body["action"] == "derived"
    assert body["hashes"] == {
        "envelope_sha256": copy["envelope_sha256"],
        "content_sha256": copy["sha256"],
        "original_envelope_sha256": envelope,
        "original_content_sha256": sha256(PHOTO),
    }
    assert body["details"] == {"from": loaded.photo, "operation": "strip-metadata"}
    history = station.ok("custody", "show", copy_id).stdout
    assert " derived " in history
    assert station.ok("custody", "verify", "--deep", passphrase=None)


def test_show_and_list_put_a_copy_with_its_original(loaded: Loaded, station: Station) -> None:
    copy_id = derived_id(station.ok("derive", loaded.photo, "--strip-metadata").stdout)
    shown = station.ok("show", loaded.photo).stdout
    assert f"derivatives: [{copy_id}]" in shown
    assert f"derived_from: {loaded.photo}" in station.ok("show", copy_id).stdout
    lines = station.ok("list").stdout.splitlines()
    ids = [int(line.split()[0]) for line in lines]
    assert ids.index(copy_id) == ids.index(loaded.photo) + 1
    assert f"(working copy of item {loaded.photo})" in lines[ids.index(copy_id)]


@needs_ffmpeg
def test_strip_metadata_from_a_video(tmp_path: Path, loaded: Loaded, station: Station) -> None:
    copy_id = derived_id(station.ok("derive", loaded.video, "--strip-metadata").stdout)
    copy = next(item for item in station.items() if item["id"] == copy_id)
    assert copy["identifying_metadata"] == [] and "capture_time" not in copy["media"]
    assert copy["media"]["duration"] == pytest.approx(2, abs=0.2)
    original = next(item for item in station.items() if item["id"] == loaded.video)
    assert original["identifying_metadata"] == ["gps"]
    data = extracted(station, copy_id, tmp_path / "copy.mp4")
    assert b"loci" not in data and b"Lavf" not in data  # the location atom, the muxer's own tag
    assert extracted(station, loaded.video, tmp_path / "original.mp4") == loaded.video_bytes


@needs_ffmpeg
def test_clip_a_video_by_stream_copy(tmp_path: Path, loaded: Loaded, station: Station) -> None:
    result = station.ok("derive", loaded.video, "--clip", "0:00.5-1.5", "--strip-metadata")
    copy_id = derived_id(result.stdout)
    assert "(strip-metadata+clip)" in result.stdout
    copy = next(item for item in station.items() if item["id"] == copy_id)
    assert copy["media"]["duration"] < 1.9
    out = tmp_path / "clip.mp4"
    extracted(station, copy_id, out)
    codecs = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", out],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert codecs == ["h264"]  # copied, not re-encoded to something else


def test_refusals_ask_no_passphrase_and_change_nothing(loaded: Loaded, station: Station) -> None:
    before = vault_files(station)
    cases = [
        ((loaded.photo,), "nothing to derive"),
        ((loaded.photo, "--clip", "1-2"), "--clip is for video and audio"),
        ((loaded.message, "--strip-metadata"), "is a message"),
        ((loaded.video, "--clip", "5-2"), "ends before it starts"),
        ((loaded.video, "--clip", "one-two"), "is not seconds"),
        ((loaded.video, "--clip", "7"), "is not START-END"),
        ((999, "--strip-metadata"), "no item 999"),
    ]
    for args, needle in cases:
        assert_refused(station.run("derive", *args, passphrase=None), needle)
    assert vault_files(station) == before
    assert all(item["derived_from"] is None for item in station.items())


def test_no_plaintext_is_left_on_disk(
    tmp_path: Path, loaded: Loaded, station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    station.ok("derive", loaded.photo, "--strip-metadata")
    assert list(private.iterdir()) == []
    assert not list(station.vault.rglob("*.jpg")) and not (station.vault / ".staging").exists()


def test_a_catalogue_of_the_old_schema_is_refused(station: Station) -> None:
    con = station.db()
    con.execute("PRAGMA user_version = 1")
    con.close()
    assert_refused(
        station.run("list", passphrase=None),
        "the catalogue has schema version 1, this Tamga needs 2: use the Tamga version that created it",
    )
