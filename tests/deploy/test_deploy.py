"""deploy/: Debian's tor accepts our torrc, and the systemd unit carries the hardening we promise."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.skipif(shutil.which("tor") is None, reason="Debian's tor is not installed")
def test_tor_accepts_the_torrc(tmp_path: Path) -> None:
    service_dir = tmp_path / "hs"
    service_dir.mkdir(mode=0o700)
    torrc = (DEPLOY / "torrc").read_text().replace("/var/lib/tor/tamga/", f"{service_dir}/")
    torrc = torrc.replace("Log notice syslog", "Log notice stderr")
    config = tmp_path / "torrc"
    config.write_text(torrc + f"DataDirectory {tmp_path / 'data'}\n")
    result = subprocess.run(
        ["tor", "--verify-config", "-f", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for option in (
        "HiddenServicePoWDefensesEnabled 1",
        "SafeLogging 1",
        "HiddenServiceEnableIntroDoSDefense 1",
    ):
        assert option in torrc


def test_systemd_unit_is_hardened() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "tamga-intake.service")
    service = unit["Service"]
    expected = {
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "LimitCORE": "0",
        "UMask": "0077",
    }
    for key, value in expected.items():
        assert service.get(key) == value, key
    assert "--bind 127.0.0.1:" in service["ExecStart"]


def test_gunicorn_conf_uses_threads_and_no_access_log() -> None:
    namespace: dict[str, object] = {}
    exec((DEPLOY / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 (our own config file)
    assert namespace["worker_class"] == "submission.worker.HeadReadingWorker"  # gthread subclass
    assert namespace["accesslog"] is None
    assert isinstance(namespace["threads"], int) and namespace["threads"] > 8
