"""`tamga-intake`: init, server-key, serve and their help; create_app's refusals to start insecurely."""

import dataclasses
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from crypto import X25519Identity
from crypto.signing import VerifyKey
from submission import cli as cli_module
from submission.app import create_app
from submission.cli import cli
from submission.settings import Settings, SettingsError, load_settings, load_signing_key
from tests.support.forms import ONION

REPO = Path(__file__).resolve().parents[2]
PRIVATE_FILES = ("config.json", "secret_key", "codename-salt", "server-signing.key")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def init(path: Path, reviewer: X25519Identity, *extra: str) -> Result:
    return invoke("init", "--data-dir", str(path), "--recipient", str(reviewer.recipient), *extra)


def assert_one_line_error(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"


@pytest.fixture
def exec_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """`serve` replaces the process with gunicorn: record the call instead of making it."""
    calls: list[list[str]] = []
    monkeypatch.setenv("TAMGA_DATA_DIR", "")  # recorded, so serve's export is undone afterwards
    monkeypatch.delenv("TAMGA_DATA_DIR")
    monkeypatch.setattr(cli_module.os, "execvp", lambda file, argv: calls.append(list(argv)))
    yield calls


def test_init_creates_a_private_data_directory(tmp_path: Path, reviewer: X25519Identity) -> None:
    data_dir = tmp_path / "data"
    result = init(data_dir, reviewer, "--onion-address", ONION)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"Created {data_dir}"
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "store") == 0o700
    for name in PRIVATE_FILES:
        assert mode(data_dir / name) == 0o600, name
    config = json.loads((data_dir / "config.json").read_text())
    assert config["recipients"] == [str(reviewer.recipient)]
    assert config["onion_addresses"] == [ONION]
    assert config["demo"] is False
    assert len((data_dir / "secret_key").read_bytes()) >= 32
    assert len((data_dir / "codename-salt").read_bytes()) == 16
    settings = load_settings(data_dir)
    assert settings.recipients == (reviewer.recipient,)
    app = create_app(settings)
    app.extensions["tamga.engine"].dispose()


def test_init_takes_several_recipients(tmp_path: Path, reviewer: X25519Identity) -> None:
    other = X25519Identity.generate()
    result = init(tmp_path / "data", reviewer, "--recipient", str(other.recipient))
    assert result.exit_code == 0, result.output
    assert load_settings(tmp_path / "data").recipients == (reviewer.recipient, other.recipient)


def test_init_refuses_an_existing_directory(tmp_path: Path, reviewer: X25519Identity) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert_one_line_error(init(data_dir, reviewer), f"{data_dir} already exists: refusing to reuse it")
    assert list(data_dir.iterdir()) == []


def test_init_refuses_to_overwrite_an_initialised_directory(tmp_path: Path, reviewer: X25519Identity) -> None:
    data_dir = tmp_path / "data"
    assert init(data_dir, reviewer).exit_code == 0
    key = (data_dir / "server-signing.key").read_bytes()
    assert_one_line_error(init(data_dir, reviewer), f"{data_dir} already exists: refusing to reuse it")
    assert (data_dir / "server-signing.key").read_bytes() == key


@pytest.mark.parametrize(
    "recipient",
    [
        "age1notakey",
        "AGE1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZ",
        "",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        "tamgapub1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsw8wrg",
    ],
)
def test_init_refuses_a_malformed_recipient(tmp_path: Path, recipient: str) -> None:
    data_dir = tmp_path / "data"
    result = invoke("init", "--data-dir", str(data_dir), "--recipient", recipient)
    assert_one_line_error(result, "malformed recipient: expected an age1... string")
    assert not data_dir.exists()


def test_init_does_not_echo_a_secret_key_given_as_recipient(tmp_path: Path, reviewer: X25519Identity) -> None:
    secret = reviewer.to_text()
    result = invoke("init", "--data-dir", str(tmp_path / "data"), "--recipient", secret)
    assert_one_line_error(result, "malformed recipient: expected an age1... string")
    assert secret not in result.output
    assert secret[15:40] not in result.output


def test_init_requires_a_recipient(tmp_path: Path) -> None:
    result = invoke("init", "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 2
    assert "Missing option '--recipient'" in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "address",
    ["example.onion", "a" * 16 + ".onion", "a" * 56, "a" * 56 + ".onion.evil.example", "1" * 56 + ".onion"],
)
def test_init_refuses_a_bad_onion_address(tmp_path: Path, reviewer: X25519Identity, address: str) -> None:
    result = init(tmp_path / "data", reviewer, "--onion-address", address)
    assert_one_line_error(result, f"{address!r} is not a v3 onion address (56 characters + .onion)")


def test_a_refused_onion_address_leaves_no_directory_behind(tmp_path: Path, reviewer: X25519Identity) -> None:
    data_dir = tmp_path / "data"
    assert init(data_dir, reviewer, "--onion-address", "example.onion").exit_code == 1
    assert not data_dir.exists()
    assert init(data_dir, reviewer, "--onion-address", ONION).exit_code == 0


def test_init_reads_the_onion_address_from_tors_hostname_file(
    tmp_path: Path, reviewer: X25519Identity
) -> None:
    address = "b" * 56 + ".onion"
    hostname = tmp_path / "hostname"
    hostname.write_text(address + "\n")
    data_dir = tmp_path / "data"
    result = init(data_dir, reviewer, "--onion-address", ONION, "--onion-hostname-file", str(hostname))
    assert result.exit_code == 0, result.output
    settings = load_settings(data_dir)
    assert settings.onion_addresses == (ONION, address)
    app = create_app(settings)
    try:
        assert app.test_client().get("/", headers={"Host": address}).status_code == 200
        assert app.test_client().get("/", headers={"Host": "c" * 56 + ".onion"}).status_code == 400
    finally:
        app.extensions["tamga.engine"].dispose()


def test_init_refuses_a_bad_hostname_file(tmp_path: Path, reviewer: X25519Identity) -> None:
    hostname = tmp_path / "hostname"
    hostname.write_text("not an onion\n")
    data_dir = tmp_path / "data"
    result = init(data_dir, reviewer, "--onion-hostname-file", str(hostname))
    assert_one_line_error(result, "'not an onion' is not a v3 onion address (56 characters + .onion)")
    assert not data_dir.exists()
    missing = init(data_dir, reviewer, "--onion-hostname-file", str(tmp_path / "missing"))
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: ")
    assert len(missing.stderr.splitlines()) == 1
    assert not data_dir.exists()


def test_server_key_prints_the_key_init_printed(tmp_path: Path, reviewer: X25519Identity) -> None:
    data_dir = tmp_path / "data"
    created = init(data_dir, reviewer)
    assert created.exit_code == 0
    printed_by_init = VerifyKey.parse(created.stdout.split()[-1])
    result = invoke("server-key", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    key = VerifyKey.parse(result.stdout.split()[-1])
    assert str(key).startswith("tamgapub1")
    assert key == printed_by_init
    assert key == load_signing_key(data_dir).verify_key
    assert key.fingerprint in result.stdout
    assert "tamga-signing-key" not in result.stdout.lower()


def test_server_key_refuses_a_directory_that_was_never_initialised(tmp_path: Path) -> None:
    result = invoke("server-key", "--data-dir", str(tmp_path))
    assert_one_line_error(result, f"{tmp_path} is not a Tamga data directory: run tamga-intake init first")


@pytest.mark.parametrize(
    ("bind", "host"),
    [
        ("0.0.0.0:8080", "0.0.0.0"),  # noqa: S104 (the bind being refused)
        ("[::]:8080", "[::]"),
        ("192.0.2.7:80", "192.0.2.7"),
        ("example.com:8080", "example.com"),
    ],
)
def test_serve_refuses_a_non_loopback_bind(
    tmp_path: Path, reviewer: X25519Identity, exec_calls: list[list[str]], bind: str, host: str
) -> None:
    data_dir = tmp_path / "data"
    assert init(data_dir, reviewer).exit_code == 0
    result = invoke("serve", "--data-dir", str(data_dir), "--bind", bind)
    assert_one_line_error(result, f"{host} is not a loopback address: add --allow-non-loopback to mean it")
    assert exec_calls == []


@pytest.mark.parametrize(
    ("bind", "flags"),
    [
        ("127.0.0.1:8081", ()),
        ("localhost:8080", ()),
        ("[::1]:8080", ()),
        ("0.0.0.0:8080", ("--allow-non-loopback",)),
    ],
)
def test_serve_runs_gunicorn_with_the_intake_settings(
    tmp_path: Path,
    reviewer: X25519Identity,
    exec_calls: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    bind: str,
    flags: tuple[str, ...],
) -> None:
    data_dir = tmp_path / "data"
    assert init(data_dir, reviewer).exit_code == 0
    result = invoke("serve", "--data-dir", str(data_dir), "--bind", bind, *flags)
    assert result.exit_code == 0, result.output
    assert exec_calls == [
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(REPO),
            "-c",
            "python:submission.gunicorn_settings",
            "--bind",
            bind,
        ]
    ]
    assert cli_module.os.environ["TAMGA_DATA_DIR"] == str(data_dir.resolve())


def test_serve_refuses_a_data_directory_others_can_read(
    tmp_path: Path, reviewer: X25519Identity, exec_calls: list[list[str]]
) -> None:
    data_dir = tmp_path / "data"
    assert init(data_dir, reviewer).exit_code == 0
    data_dir.chmod(0o755)
    result = invoke("serve", "--data-dir", str(data_dir))
    assert_one_line_error(result, f"{data_dir.resolve()} is readable by others: chmod 700 it")
    assert exec_calls == []


def _commands() -> list[str]:
    return sorted(cli.commands)


def test_the_expected_commands_exist() -> None:
    assert {"init", "server-key", "serve"} <= set(_commands())


@pytest.mark.parametrize("command", [None, *_commands()])
def test_every_command_has_help_with_an_example(command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    result = invoke(*args)
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    if command is not None:
        assert "--data-dir" in result.stdout
        parameters = {p.name for p in cli.commands[command].params if isinstance(p, click.Option)}
        assert "data_dir" in parameters


def test_the_installed_script_shows_its_help() -> None:
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "tamga-intake"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Example:" in result.stdout
    for command in ("init", "serve", "server-key"):
        assert command in result.stdout


def test_create_app_refuses_a_data_directory_others_can_read(data_dir: Path, settings: Settings) -> None:
    data_dir.chmod(0o755)
    with pytest.raises(SettingsError, match="is readable by others: chmod 700 it"):
        create_app(settings)
    data_dir.chmod(0o710)
    with pytest.raises(SettingsError, match="is readable by others: chmod 700 it"):
        create_app(settings)


def test_create_app_refuses_settings_without_a_recipient(settings: Settings) -> None:
    with pytest.raises(
        SettingsError, match=r"^no recipient: the intake needs at least one reviewer key to seal to$"
    ):
        create_app(dataclasses.replace(settings, recipients=()))


def test_create_app_refuses_a_missing_secret(settings: Settings) -> None:
    with pytest.raises(SettingsError, match=r"^the secret key is missing or too short$"):
        create_app(dataclasses.replace(settings, secret_key=b"dev"))


def test_a_demo_recipient_is_refused_outside_demo_mode(settings: Settings, reviewer: X25519Identity) -> None:
    demo_key = (str(reviewer.recipient),)
    with pytest.raises(
        SettingsError, match=r"^a demo review key is configured outside demo mode: replace it$"
    ):
        create_app(dataclasses.replace(settings, demo_recipients=demo_key))
    app = create_app(dataclasses.replace(settings, demo_recipients=demo_key, demo=True))
    app.extensions["tamga.engine"].dispose()


def test_a_demo_data_directory_switched_out_of_demo_mode_is_refused(
    tmp_path: Path, reviewer: X25519Identity
) -> None:
    data_dir = tmp_path / "data"
    assert init(data_dir, reviewer, "--demo").exit_code == 0
    config_file = data_dir / "config.json"
    config = json.loads(config_file.read_text())
    assert config["demo"] is True
    assert config["demo_recipients"] == [str(reviewer.recipient)]
    app = create_app(load_settings(data_dir))
    app.extensions["tamga.engine"].dispose()
    config_file.write_text(json.dumps({**config, "demo": False}))
    with pytest.raises(SettingsError, match="demo review key is configured outside demo mode"):
        create_app(load_settings(data_dir))
