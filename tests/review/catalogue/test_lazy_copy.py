"""The import makes a private plaintext copy only for the media it probes, and removes it."""

import tempfile
from pathlib import Path

import pytest

from tests.support import media_samples as samples
from tests.support.catalogue import Upload, ids_by_label, import_submissions
from tests.support.station import Station


@pytest.fixture
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every temporary directory made while the test runs, in a private temp dir."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    directories: list[str] = []
    real = tempfile.mkdtemp

    def recording(*args: object, **kwargs: object) -> str:
        directory = real(*args, **kwargs)  # type: ignore[call-overload]
        directories.append(directory)
        return str(directory)

    monkeypatch.setattr(tempfile, "mkdtemp", recording)
    return directories


def test_files_that_are_not_media_get_no_copy(station: Station, tmp_path: Path, made: list[str]) -> None:
    uploads = [
        Upload("protocol", b"%not media\n" * 8_000, "protocol.txt", "text/plain"),
        Upload("random", bytes(range(256)) * 400, "data.bin", "application/octet-stream"),
    ]
    import_submissions(station, tmp_path, [("statement", uploads)])
    assert made == [], "no plaintext copy for files no probe reads"
    assert set(ids_by_label(station, uploads)) == {"protocol", "random"}


def test_each_media_file_gets_one_copy_that_is_removed(
    station: Station, tmp_path: Path, made: list[str]
) -> None:
    uploads = [
        Upload("photo", samples.exif_jpeg(seed=4), "IMG_2001.JPG", "image/jpeg"),
        Upload("notes", b"plain words\n" * 1_000, "notes.txt", "text/plain"),
    ]
    import_submissions(station, tmp_path, [("", uploads)])
    assert len(made) == 1, made
    assert not Path(made[0]).exists(), "the copy was removed"
    photo = station.show(ids_by_label(station, uploads)["photo"])
    assert photo["media"]["device_serial"] == samples.DEVICE_SERIAL
