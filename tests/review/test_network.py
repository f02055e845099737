"""No network on the station, by construction: every command runs with socket creation made to fail.

The commands run in child processes whose `sitecustomize` (on PYTHONPATH) replaces the socket
constructors with ones that log and raise, and logs every `socket.*` audit event: this is
independent of review/netguard.py. Each child logs that it loaded the blocker, so the test
cannot pass with the blocker silently absent.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from crypto import parse_recipient
from tests.support.intake import Intake, make_intake
from tests.support.station import PASSPHRASE

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "tamga-review"

SITECUSTOMIZE = textwrap.dedent(
    '''
    """Make socket creation fail in this process, and log every attempt (a test fixture)."""
    import _socket
    import os
    import socket
    import sys

    _LOG = os.environ["TAMGA_TEST_SOCKET_LOG"]


    def _note(what):
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{os.environ.get('TAMGA_TEST_LABEL', '-')} {os.getpid()} {what}\\n")


    class _NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            _note("attempt socket.socket")
            raise OSError("socket creation is blocked in this test")


    def _blocked(name):
        def refuse(*args, **kwargs):
            _note(f"attempt socket.{name}")
            raise OSError(f"socket.{name} is blocked in this test")

        return refuse


    socket.socket = socket.SocketType = _NoSocket
    _socket.socket = _NoSocket
    for _name in (
        "create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo",
        "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo",
    ):
        setattr(socket, _name, _blocked(_name))


    def _audit(event, args):
        if event.startswith("socket."):
            _note(f"attempt audit {event}")


    sys.addaudithook(_audit)
    _note("loaded")
    '''
)


def blocked_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "sockets.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TAMGA_TEST_SOCKET_LOG": str(log),
        "TAMGA_PASSPHRASE": PASSPHRASE,
        "TAMGA_ACTOR": "tester",
    }
    return env, log


def review_command() -> list[str]:
    if SCRIPT.exists():
        return [str(SCRIPT)]
    return [sys.executable, "-c", "from review.cli import main; main()"]


def test_every_command_runs_with_sockets_failing(tmp_path: Path) -> None:
    env, log = blocked_env(tmp_path)
    station = tmp_path / "station"
    runs = 0

    def review(*args: str | Path) -> str:
        nonlocal runs
        result = subprocess.run(
            [*review_command(), "--station", str(station), *map(str, args)],
            env={**env, "TAMGA_TEST_LABEL": f"run-{runs}"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{args}: {result.stdout} {result.stderr}"
        runs += 1
        return result.stdout

    # the blocker works: a plain socket fails in a child set up the same way
    probe = subprocess.run(
        [sys.executable, "-c", "import socket\ntry:\n socket.socket()\nexcept OSError:\n print('blocked')"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.stdout.strip() == "blocked", probe.stderr
    log.unlink()

    review("init")
    recipient = review("pubkey").splitlines()[-1]
    assert recipient.startswith("age1")
    assert review("pubkey", "--signing").split()[-1].startswith("tamgapub1")

    intake: Intake = make_intake(tmp_path / "intake", [parse_recipient(recipient)])
    intake.submit("Ballot box left unsealed at PS 9.", [(b"photo bytes " * 100, "box.jpg", "image/jpeg")])
    bundle = intake.export_ok(tmp_path / "b.tar")[0][0]
    intake.close()

    review("trust-server", str(intake.key.verify_key))
    assert "imported 2 item(s)" in review("import", bundle)
    assert review("list")
    items = {i["kind"]: i["id"] for i in json.loads(review("list", "--json"))}
    assert "Ballot box left unsealed" in review("show", items["message"])
    review("extract", items["file"], "--out", tmp_path / "box.jpg")
    assert (tmp_path / "box.jpg").read_bytes() == b"photo bytes " * 100
    assert review("custody", "verify").startswith("custody log verified")
    assert re.fullmatch(r"[0-9a-f]{64}\n", review("custody", "head"))
    assert "extracted" in review("custody", "show", items["file"])

    lines = log.read_text().splitlines()
    assert runs == 12
    loaded = {line.split()[0] for line in lines if line.endswith(" loaded")}
    assert loaded >= {f"run-{n}" for n in range(runs)}  # (child processes of a command log too)
    assert [line for line in lines if " attempt " in line] == []


def test_review_never_imports_submission(tmp_path: Path) -> None:
    offending = []
    for package in ("review", "crypto"):
        for path in sorted((REPO / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.match(r"\s*(import\s+submission\b|from\s+submission\b)", line) or re.search(
                    r"""import_module\(\s*["']submission""", line
                ):
                    offending.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offending == []
    # and at run time: loading every review module pulls in no submission module
    code = (
        "import pkgutil, importlib, sys, review\n"
        "for m in pkgutil.walk_packages(review.__path__, 'review.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n == 'submission' or n.startswith('submission.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
