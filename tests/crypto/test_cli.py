"""`python -m crypto`: every command, every exit code, one `error:` line per refusal."""

import argparse
import io
import os
import random
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import crypto
from crypto import cli
from crypto.x25519 import X25519Identity

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
CHUNK = 64 * 1024
PASSPHRASE = "station passphrase, long enough"
COMMANDS = ["inspect", "keygen", "open", "recipient", "seal"]
DOES_NOT_VERIFY = "payload does not verify: the envelope is truncated, corrupted or tampered with"
TRUNCATED = "payload ends without its final chunk: the envelope is truncated"


def _run(
    *args: str, stdin: bytes = b"", passphrase: str | bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI in a new session (no terminal to prompt on), with TAMGA_PASSPHRASE as given."""
    env: dict[str, str | bytes] = {k: v for k, v in os.environ.items() if k != "TAMGA_PASSPHRASE"}
    if passphrase is not None:
        env["TAMGA_PASSPHRASE"] = passphrase
    return subprocess.run(
        [sys.executable, "-m", "crypto", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env=env,  # type: ignore[arg-type]  # bytes values are allowed on POSIX
        timeout=TIMEOUT,
        check=False,
        start_new_session=True,
    )


def _assert_refused(result: subprocess.CompletedProcess[bytes], message: str) -> None:
    """Exit code 1 and exactly one line on stderr: the error, never a traceback."""
    assert result.stderr.decode() == f"error: {message}\n"
    assert result.returncode == 1


def _assert_usage_error(result: subprocess.CompletedProcess[bytes], last_line: str) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith("usage: python -m crypto")
    assert stderr.splitlines()[-1] == last_line
    assert "Traceback" not in stderr
    assert result.stdout == b""


def _plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _part_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


@dataclass(frozen=True)
class Key:
    path: Path
    recipient: str
    keygen: subprocess.CompletedProcess[bytes]


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Key:
    """A passphrase-protected identity file made by `keygen` (one scrypt sealing per module)."""
    path = tmp_path_factory.mktemp("station") / "station.key"
    result = _run("keygen", "-o", str(path), passphrase=PASSPHRASE)
    return Key(path, result.stderr.decode().removeprefix("Public key: ").strip(), result)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Key:
    path = tmp_path_factory.mktemp("plain") / "plain.key"
    result = _run("keygen", "--plain", "-o", str(path))
    return Key(path, result.stderr.decode().removeprefix("Public key: ").strip(), result)


def _warning(key: Key) -> str:
    return f"warning: {key.path} is not passphrase-protected\n"


# --- keygen and recipient ------------------------------------------------------------------------


def test_keygen_writes_a_sealed_identity_file(station: Key) -> None:
    assert station.keygen.returncode == 0
    assert station.keygen.stdout == b""
    assert station.keygen.stderr.decode() == f"Public key: {station.recipient}\n"
    crypto.X25519Recipient.parse(station.recipient)
    assert station.path.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert stat.S_IMODE(station.path.stat().st_mode) == 0o600


def test_keygen_plain_writes_the_identity_in_clear(plain: Key) -> None:
    assert plain.keygen.returncode == 0
    assert plain.keygen.stderr.decode() == f"Public key: {plain.recipient}\n"
    lines = plain.path.read_text().splitlines()
    assert lines[1] == f"# public key: {plain.recipient}"
    assert str(X25519Identity.parse(lines[2]).recipient) == plain.recipient
    assert stat.S_IMODE(plain.path.stat().st_mode) == 0o600


def test_recipient_of_a_sealed_file(station: Key) -> None:
    result = _run("recipient", str(station.path), passphrase=PASSPHRASE)
    assert (result.returncode, result.stdout.decode(), result.stderr) == (0, f"{station.recipient}\n", b"")


def test_recipient_of_a_plain_file_warns(plain: Key) -> None:
    result = _run("recipient", str(plain.path))
    assert (result.returncode, result.stdout.decode()) == (0, f"{plain.recipient}\n")
    assert result.stderr.decode() == _warning(plain)


@pytest.mark.slow
def test_keygen_and_recipient_with_a_passphrase_file(tmp_path: Path) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_text("from a file, long enough\n")
    key = tmp_path / "key.txt"
    # The file wins over TAMGA_PASSPHRASE: only the file's passphrase opens the key below.
    made = _run(
        "keygen", "-o", str(key), "--passphrase-file", str(secret), passphrase="not this one, long enough"
    )
    assert made.returncode == 0, made.stderr
    shown = _run("recipient", str(key), "--passphrase-file", str(secret))
    assert shown.returncode == 0, shown.stderr
    assert made.stderr.decode() == f"Public key: {shown.stdout.decode()}"


# --- seal, open, inspect -------------------------------------------------------------------------


def test_seal_and_open_files(station: Key, tmp_path: Path) -> None:
    plaintext = _plaintext(2 * CHUNK + 1)
    source, sealed, opened = tmp_path / "video.mp4", tmp_path / "video.mp4.age", tmp_path / "out.mp4"
    source.write_bytes(plaintext)
    result = _run("seal", "-r", station.recipient, "-o", str(sealed), str(source))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    result = _run("open", "-i", str(station.path), "-o", str(opened), str(sealed), passphrase=PASSPHRASE)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert opened.read_bytes() == plaintext
    assert _part_files(tmp_path) == []


def test_seal_and_open_through_stdin_and_stdout(plain: Key) -> None:
    plaintext = _plaintext(CHUNK + 1)
    sealed = _run("seal", "-r", plain.recipient, stdin=plaintext)
    assert (sealed.returncode, sealed.stderr) == (0, b"")
    assert sealed.stdout.startswith(b"age-encryption.org/v1\n")
    for args in (["open", "-i", str(plain.path)], ["open", "-i", str(plain.path), "-o", "-", "-"]):
        opened = _run(*args, stdin=sealed.stdout)
        assert opened.returncode == 0
        assert opened.stdout == plaintext
        assert opened.stderr.decode() == _warning(plain)


def test_seal_to_several_recipients(plain: Key) -> None:
    other = X25519Identity.generate()
    sealed = _run("seal", "-r", str(other.recipient), "--recipient", plain.recipient, stdin=b"memo")
    assert sealed.returncode == 0
    assert crypto.open_bytes(sealed.stdout, [other]) == b"memo"
    opened = _run("open", "-i", str(plain.path), stdin=sealed.stdout)
    assert (opened.returncode, opened.stdout) == (0, b"memo")


def test_age_cli_opens_what_seal_wrote(plain: Key) -> None:
    sealed = _run("seal", "-r", plain.recipient, stdin=b"for the standard tool")
    result = subprocess.run(
        ["age", "-d", "-i", str(plain.path)],
        input=sealed.stdout,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, b"for the standard tool")


@pytest.mark.parametrize("size", [0, CHUNK, CHUNK + 1])
def test_inspect(tmp_path: Path, size: int) -> None:
    identities = [X25519Identity.generate(), X25519Identity.generate()]
    envelope = crypto.seal_bytes(bytes(size), [i.recipient for i in identities])
    header = crypto.inspect(io.BytesIO(envelope)).header_size
    expected = (
        "age v1 envelope\n"
        "recipient stanzas: X25519, X25519\n"
        f"header size: {header} bytes\n"
        f"payload size: {len(envelope) - header} bytes\n"
        f"plaintext size: {size} bytes (if the payload is intact)\n"
    )
    path = tmp_path / "e.age"
    path.write_bytes(envelope)
    for result in (_run("inspect", str(path)), _run("inspect", stdin=envelope)):
        assert (result.returncode, result.stdout.decode(), result.stderr) == (0, expected, b"")


def test_inspect_a_sealed_key_file_shows_the_work_factor(station: Key) -> None:
    result = _run("inspect", str(station.path))
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[1:3] == ["recipient stanzas: scrypt", "scrypt work factor: 2^18"]
    assert PASSPHRASE.encode() not in result.stdout


# --- exit code 1: refusals -----------------------------------------------------------------------


@pytest.mark.parametrize("recipient", ["age1bad", "AGE1QQQQ", "", "ssh-ed25519 AAAA"])
def test_seal_refuses_a_malformed_recipient(tmp_path: Path, recipient: str) -> None:
    out = tmp_path / "out.age"
    result = _run("seal", "-r", recipient, "-o", str(out), stdin=b"x")
    _assert_refused(result, "malformed recipient: expected an age1... string")
    assert not out.exists()


@pytest.fixture(scope="module")
def big_envelope(station: Key) -> bytes:
    """A 200 KiB plaintext sealed to the station."""
    return crypto.seal_bytes(_plaintext(200 * 1024), [crypto.X25519Recipient.parse(station.recipient)])


def _truncated_at_chunk(envelope: bytes) -> bytes:
    header = crypto.inspect(io.BytesIO(envelope)).header_size
    return envelope[: header + 16 + 2 * (CHUNK + 16)]


def _flipped_near_end(envelope: bytes) -> bytes:
    damaged = bytearray(envelope)
    damaged[-5] ^= 0x10
    return bytes(damaged)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda e: e[:-1], DOES_NOT_VERIFY),
        (_truncated_at_chunk, TRUNCATED),
        (_flipped_near_end, DOES_NOT_VERIFY),
        (lambda e: e + b"\x00", DOES_NOT_VERIFY),
        (lambda e: b"not an envelope\n", "not an age v1 envelope"),
    ],
    ids=["truncated", "truncated-at-chunk", "tampered", "trailing", "not-age"],
)
def test_open_writes_nothing_when_verification_fails(
    station: Key, big_envelope: bytes, tmp_path: Path, damage: Callable[[bytes], bytes], message: str
) -> None:
    sealed, out = tmp_path / "in.age", tmp_path / "out" / "video.mp4"
    out.parent.mkdir()
    sealed.write_bytes(damage(big_envelope))
    result = _run("open", "-i", str(station.path), "-o", str(out), str(sealed), passphrase=PASSPHRASE)
    _assert_refused(result, message)
    assert result.stdout == b""
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_open_writes_nothing_to_stdout_when_verification_fails(station: Key, big_envelope: bytes) -> None:
    result = _run("open", "-i", str(station.path), stdin=big_envelope[:-1], passphrase=PASSPHRASE)
    _assert_refused(result, DOES_NOT_VERIFY)
    assert result.stdout == b""


def test_open_with_the_wrong_key(station: Key) -> None:
    envelope = crypto.seal_bytes(b"x", [X25519Identity.generate().recipient])
    result = _run("open", "-i", str(station.path), stdin=envelope, passphrase=PASSPHRASE)
    _assert_refused(result, "no identity matches this envelope: is it sealed to another key?")


@pytest.mark.parametrize("command", ["open", "recipient"])
def test_wrong_passphrase(station: Key, command: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = (
        ["open", "-i", str(station.path), "-o", str(out)]
        if command == "open"
        else ["recipient", str(station.path)]
    )
    envelope = crypto.seal_bytes(b"x", [crypto.X25519Recipient.parse(station.recipient)])
    result = _run(*args, stdin=envelope, passphrase=PASSPHRASE + "!")
    _assert_refused(result, "wrong passphrase for this identity file")
    assert result.stdout == b""
    assert not out.exists()


def test_seal_refuses_an_existing_output(tmp_path: Path) -> None:
    out = tmp_path / "out.age"
    out.write_bytes(b"precious")
    recipient = str(X25519Identity.generate().recipient)
    result = _run("seal", "-r", recipient, "-o", str(out), stdin=b"x")
    _assert_refused(result, f"{out} already exists: refusing to overwrite it")
    assert out.read_bytes() == b"precious"
    assert _part_files(tmp_path) == []


def test_open_refuses_an_existing_output(station: Key, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_bytes(b"precious")
    envelope = crypto.seal_bytes(b"x", [crypto.X25519Recipient.parse(station.recipient)])
    result = _run("open", "-i", str(station.path), "-o", str(out), stdin=envelope, passphrase=PASSPHRASE)
    _assert_refused(result, f"{out} already exists: refusing to overwrite it")
    assert out.read_bytes() == b"precious"


def test_keygen_refuses_an_existing_output(tmp_path: Path) -> None:
    key = tmp_path / "station.key"
    key.write_bytes(b"precious")
    _assert_refused(
        _run("keygen", "--plain", "-o", str(key)), f"{key} already exists: refusing to overwrite a key file"
    )
    assert key.read_bytes() == b"precious"


def test_keygen_refuses_a_short_passphrase(tmp_path: Path) -> None:
    key = tmp_path / "station.key"
    result = _run("keygen", "-o", str(key), passphrase="short")
    _assert_refused(result, "passphrase is too short: use at least 12 characters")
    assert not key.exists()


def test_missing_input_file(station: Key, tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    recipient = str(X25519Identity.generate().recipient)
    for args, passphrase in [
        (["seal", "-r", recipient, "-o", str(tmp_path / "out.age"), str(missing)], None),
        (["open", "-i", str(station.path), "-o", str(tmp_path / "out"), str(missing)], PASSPHRASE),
        (["inspect", str(missing)], None),
    ]:
        _assert_refused(_run(*args, passphrase=passphrase), f"No such file or directory: {missing}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_missing_identity_and_passphrase_files(station: Key, tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    result = _run("recipient", str(missing))
    _assert_refused(result, f"cannot read key file {missing}: No such file or directory")
    result = _run("recipient", str(station.path), "--passphrase-file", str(missing))
    _assert_refused(result, f"No such file or directory: {missing}")


def test_inspect_refuses_what_is_not_an_envelope() -> None:
    _assert_refused(_run("inspect", stdin=b"plain text\n"), "not an age v1 envelope")


def test_seal_refuses_to_write_an_envelope_to_a_terminal() -> None:
    recipient = str(X25519Identity.generate().recipient)
    master, slave = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "crypto", "seal", "-r", recipient],
            input=b"x",
            stdout=slave,
            stderr=subprocess.PIPE,
            cwd=REPO,
            timeout=TIMEOUT,
            check=False,
            start_new_session=True,
        )
    finally:
        os.close(slave)
        os.close(master)
    _assert_refused(result, "refusing to write an envelope to the terminal: use -o FILE")


@pytest.mark.parametrize("command", ["keygen", "open"])
def test_no_passphrase_and_no_terminal(station: Key, tmp_path: Path, command: str) -> None:
    out = tmp_path / "out"
    args = (
        ["keygen", "-o", str(out)]
        if command == "keygen"
        else ["open", "-i", str(station.path), "-o", str(out)]
    )
    result = _run(*args)
    _assert_refused(result, "no passphrase: use a prompt, TAMGA_PASSPHRASE or --passphrase-file")
    assert not out.exists()


@pytest.mark.parametrize("source", ["file", "environment"])
def test_passphrase_that_is_not_utf8(station: Key, tmp_path: Path, source: str) -> None:
    raw = b"\xff\xfe not utf-8 at all"
    if source == "file":
        secret = tmp_path / "passphrase.txt"
        secret.write_bytes(raw + b"\n")
        result = _run("recipient", str(station.path), "--passphrase-file", str(secret))
    else:
        result = _run("recipient", str(station.path), passphrase=raw)
    stderr = result.stderr.decode(errors="replace")
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith("error: ")
    assert result.returncode == 1


def test_output_in_a_missing_directory_names_the_output(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "out.age"
    result = _run("seal", "-r", str(X25519Identity.generate().recipient), "-o", str(out), stdin=b"x")
    assert result.returncode == 1
    assert ".part" not in result.stderr.decode()


# --- exit code 2: usage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "last_line"),
    [
        ([], "python -m crypto: error: the following arguments are required: COMMAND"),
        (["--bogus"], "python -m crypto: error: the following arguments are required: COMMAND"),
        (["seal", "-r", "age1x", "--bogus"], "python -m crypto: error: unrecognized arguments: --bogus"),
        (["seal"], "python -m crypto seal: error: the following arguments are required: -r/--recipient"),
        (["seal", "-r"], "python -m crypto seal: error: argument -r/--recipient: expected one argument"),
        (
            ["open", "in.age"],
            "python -m crypto open: error: the following arguments are required: -i/--identity",
        ),
        (["keygen"], "python -m crypto keygen: error: the following arguments are required: -o/--output"),
        (["recipient"], "python -m crypto recipient: error: the following arguments are required: FILE"),
    ],
    ids=[
        "no-command",
        "unknown-flag-only",
        "unknown-flag",
        "missing-r",
        "r-without-value",
        "missing-i",
        "missing-o",
        "missing-file",
    ],
)
def test_usage_errors_exit_2(args: list[str], last_line: str) -> None:
    _assert_usage_error(_run(*args, stdin=b"x"), last_line)


def test_unknown_command_exits_2() -> None:
    result = _run("frobnicate")
    assert result.returncode == 2
    last_line = result.stderr.decode().splitlines()[-1]
    # The list of choices is worded differently across Python versions.
    assert last_line.startswith("python -m crypto: error: argument COMMAND: invalid choice: 'frobnicate'")


# --- help ----------------------------------------------------------------------------------------


def test_every_command_is_covered_here() -> None:
    subparsers = [a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(subparsers) == 1
    assert sorted(subparsers[0].choices) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = _run(command, "--help")
    assert (result.returncode, result.stderr) == (0, b"")
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith(f"usage: python -m crypto {command} ")
    assert any(line.startswith(f"example: python -m crypto {command} ") for line in lines)


def test_top_level_help_lists_every_command() -> None:
    result = _run("--help")
    assert (result.returncode, result.stderr) == (0, b"")
    text = result.stdout.decode()
    for command in COMMANDS:
        assert f"\n    {command}" in text
