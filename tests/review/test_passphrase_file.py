"""`tamga-review --passphrase-file`: read by crypto/keyfile.py's one reader; a bad file is one clean line."""

from pathlib import Path

import pytest

from tests.support.station import PASSPHRASE, Station, assert_ok, assert_refused

BAD_FILES = [
    (b"", "its first line is empty"),
    (b"\n", "its first line is empty"),
    (b"\r\nsecond line, long enough\n", "its first line is empty"),
    (b"\xff\xfe not utf-8, long enough\n", "the passphrase is not valid UTF-8"),
]


@pytest.mark.parametrize(("content", "says"), BAD_FILES, ids=["empty", "newline", "crlf", "not-utf8"])
def test_init_with_a_bad_passphrase_file_is_one_line(tmp_path: Path, content: bytes, says: str) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_bytes(content)
    fresh = Station(tmp_path / "station")
    # The file wins over TAMGA_PASSPHRASE even when it is unusable.
    result = fresh.run("--passphrase-file", secret, "init")
    assert_refused(result, says)
    assert not fresh.root.exists()


def test_unlock_with_an_empty_passphrase_file_is_one_line(station: Station, tmp_path: Path) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_bytes(b"")
    not_a_bundle = tmp_path / "not-a-bundle.tar"
    not_a_bundle.write_bytes(b"x")
    line = assert_refused(station.run("--passphrase-file", secret, "import", not_a_bundle))
    assert line == f"Error: no passphrase in {secret}: its first line is empty"


def test_a_passphrase_file_with_crlf_opens_the_station_made_with_its_first_line(tmp_path: Path) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_bytes(PASSPHRASE.encode() + b"\r\nignored second line\n")
    fresh = Station(tmp_path / "station")
    assert_ok(fresh.run("--passphrase-file", secret, "init", passphrase="not this one, long enough"))
    not_a_bundle = tmp_path / "not-a-bundle.tar"
    not_a_bundle.write_bytes(b"x")
    # Unlocked with TAMGA_PASSPHRASE alone: the key was sealed to the file's first line exactly.
    line = assert_refused(fresh.run("import", not_a_bundle))
    assert "passphrase" not in line.lower()
