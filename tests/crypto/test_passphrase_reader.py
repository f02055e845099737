"""crypto/keyfile.py's one passphrase reader and key-file line parser, and `python -m crypto` using them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crypto.errors import PassphraseError
from crypto.keyfile import key_lines, read_passphrase, read_passphrase_file

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "station passphrase, long enough"


def never() -> bool:
    return False


@pytest.fixture(autouse=True)
def no_passphrase_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAMGA_PASSPHRASE", raising=False)


@pytest.mark.parametrize(
    "content",
    [b"pass word\n", b"pass word", b"pass word\r\n", b"pass word\rsecond\n", b"pass word\nsecond\n"],
    ids=["lf", "no-newline", "crlf", "cr", "two-lines"],
)
def test_the_passphrase_is_the_first_line_without_its_ending(tmp_path: Path, content: bytes) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_bytes(content)
    assert read_passphrase_file(secret) == "pass word"


def test_spaces_are_part_of_the_passphrase(tmp_path: Path) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_bytes(b" pass word \t\n")
    assert read_passphrase_file(secret) == " pass word \t"


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n", b"\nsecond line\n"])
def test_an_empty_first_line_is_refused(tmp_path: Path, content: bytes) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_bytes(content)
    with pytest.raises(
        PassphraseError, match=f"^no passphrase in {re.escape(str(secret))}: its first line is empty$"
    ):
        read_passphrase_file(secret)


def test_a_passphrase_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_bytes(b"\xff\xfe\n")
    with pytest.raises(PassphraseError, match=r"^the passphrase is not valid UTF-8$"):
        read_passphrase_file(secret)


def test_a_missing_passphrase_file_is_an_os_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        read_passphrase_file(tmp_path / "absent")
    assert raised.value.filename == str(tmp_path / "absent")


def test_the_file_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_text("from the file\n")
    monkeypatch.setenv("TAMGA_PASSPHRASE", "from the environment")
    assert read_passphrase(secret, can_prompt=never) == "from the file"
    assert read_passphrase(None, can_prompt=never) == "from the environment"


def test_no_source_and_no_terminal_is_refused() -> None:
    with pytest.raises(
        PassphraseError, match=r"^no passphrase: use a prompt, TAMGA_PASSPHRASE or --passphrase-file$"
    ):
        read_passphrase(None, can_prompt=never)


def test_a_non_utf8_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAMGA_PASSPHRASE", b"\xff not utf-8".decode("utf-8", "surrogateescape"))
    with pytest.raises(PassphraseError, match=r"^the passphrase is not valid UTF-8$"):
        read_passphrase(None, can_prompt=never)


def test_the_prompt_asks_twice_when_confirming(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    answers = iter([PASSPHRASE, PASSPHRASE, PASSPHRASE, "something else"])

    def getpass(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", getpass)
    assert (
        read_passphrase(None, confirm=True, prompt="Station passphrase: ", can_prompt=lambda: True)
        == PASSPHRASE
    )
    assert asked == ["Station passphrase: ", "Passphrase again: "]
    with pytest.raises(PassphraseError, match=r"^the two passphrases differ$"):
        read_passphrase(None, confirm=True, can_prompt=lambda: True)
    assert asked[2:] == ["Passphrase: ", "Passphrase again: "]


def test_key_lines_drop_blanks_and_comments_and_strip() -> None:
    text = "# created: 2026-01-01\n\n  # public key: age1...\r\n  AGE-SECRET-KEY-1ABC  \r\n\nsecond\n"
    assert key_lines(text) == ("AGE-SECRET-KEY-1ABC", "second")
    assert key_lines("# only a comment\n\n") == ()


# --- python -m crypto -----------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TAMGA_PASSPHRASE"}
    return subprocess.run(
        [sys.executable, "-m", "crypto", *args],
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
        start_new_session=True,
    )


def test_cli_keygen_and_recipient_refuse_an_empty_passphrase_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    key = tmp_path / "station.key"
    expected = f"error: no passphrase in {empty}: its first line is empty\n".encode()
    result = run_cli("keygen", "-o", str(key), "--passphrase-file", str(empty))
    assert (result.returncode, result.stderr) == (1, expected)
    assert not key.exists()
    good = tmp_path / "good.txt"
    good.write_text(PASSPHRASE + "\n")
    assert run_cli("keygen", "-o", str(key), "--passphrase-file", str(good)).returncode == 0
    result = run_cli("recipient", str(key), "--passphrase-file", str(empty))
    assert (result.returncode, result.stderr, result.stdout) == (1, expected, b"")
