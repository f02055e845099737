"""The page's sealing code (submission/static/src/seal.js, pieces.js), run under Node: the three
envelope kinds open with our crypto to exactly what the no-JS path would seal, for X25519 and
hybrid recipients, and the sealed stream is cut into tus pieces without losing or adding a byte."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import crypto
from submission.receiver import base_name

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("page_seal.mjs")
CHUNK = 64 * 1024
PIECE = 256 * 1024
_INSTALLED = (REPO / "node_modules" / "age-encryption" / "package.json").is_file()

pytestmark = pytest.mark.skipif(
    not _INSTALLED and not os.environ.get("CI"),
    reason="typage is not installed: run `npm ci` in the repository (make test does)",
)

NAMES = [
    ("photo.jpg", "image/jpeg"),
    ("сайлау учаскесі №1142 — «видео».mp4", "video/mp4"),
    ('quote " back\\slash \t tab.bin', ""),
    ("emoji 📷 " + "ж" * 300 + ".txt", "text/plain"),
]
SIZES = [0, CHUNK - 1, CHUNK, 3 * CHUNK + 5, PIECE * 3]


def seal_in_page(out: Path, job: dict[str, object], recipients: list[str]) -> dict[str, list[object]]:
    node = shutil.which("node")
    assert node, "node is missing: make test installs nodejs"
    result = subprocess.run(
        [node, str(DRIVER), str(out), str(PIECE), *recipients],
        input=json.dumps(job).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    report: dict[str, list[object]] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("post_quantum", [False, True], ids=["x25519", "hybrid"])
def test_the_page_seals_what_the_no_js_path_would(tmp_path: Path, post_quantum: bool) -> None:
    identities = [crypto.generate_identity(post_quantum=post_quantum) for _ in range(2)]
    recipients = [str(identity.recipient) for identity in identities]
    files = []
    for index, ((name, kind), size) in enumerate(zip(NAMES, SIZES[1:], strict=False)):
        path = tmp_path / f"in-{index}"
        path.write_bytes(os.urandom(size))
        files.append({"name": name, "type": kind, "path": str(path)})
    out = tmp_path / "out"
    out.mkdir()
    message = "\r\n  Карусель на участке №1142.\r\nBallot stuffing.  \n"
    report = seal_in_page(out, {"message": message, "files": files}, recipients)

    for identity in identities:  # each station recipient opens every envelope on its own
        opened = crypto.open_bytes((out / "message.age").read_bytes(), [identity])
        assert opened.decode() == message.replace("\r\n", "\n").strip()
    for item, spec in enumerate(files, start=1):
        name, kind = str(spec["name"]), str(spec["type"])
        expected = json.dumps({"name": base_name(name), "type": (kind or "application/octet-stream")[:255]})
        assert report["metadata"][item - 1] == expected, "the same bytes as submission/receiver.py writes"
        meta = crypto.open_bytes((out / f"{item}.meta.age").read_bytes(), identities[:1])
        assert meta.decode() == expected
        content = (out / f"{item}.content.age").read_bytes()
        assert report["sizes"][item - 1] == len(content), "the Upload-Length announced before sealing"
        assert crypto.open_bytes(content, identities[1:]) == Path(str(spec["path"])).read_bytes()


def test_an_empty_message_is_not_sealed(tmp_path: Path) -> None:
    recipient = str(crypto.generate_identity().recipient)
    seal_in_page(tmp_path, {"message": " \r\n\t ", "files": []}, [recipient])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", SIZES)
def test_pieces_are_whole_but_the_last(tmp_path: Path, size: int) -> None:
    identity = crypto.generate_identity()
    path = tmp_path / "in"
    path.write_bytes(os.urandom(size))
    out = tmp_path / "out"
    out.mkdir()
    report = seal_in_page(
        out,
        {"message": "", "files": [{"name": "a", "type": "", "path": str(path)}]},
        [str(identity.recipient)],
    )
    [pieces] = report["pieces"]
    assert isinstance(pieces, list)
    assert all(piece == PIECE for piece in pieces[:-1])
    assert 0 < pieces[-1] <= PIECE
    assert sum(pieces) == report["sizes"][0] == (out / "1.content.age").stat().st_size
    assert crypto.open_bytes((out / "1.content.age").read_bytes(), [identity]) == path.read_bytes()
