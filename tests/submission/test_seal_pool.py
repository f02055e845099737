"""The page's seal-worker path under Node (tests/submission/pool_seal.mjs): typage's header, our
payload key, and STREAM chunks sealed in runs by several workers and put back in order make an
age v1 envelope that the `age` command line and our crypto open to the exact bytes, at every
size where chunks and jobs begin and end. Chromium runs the real workers: test_seal_workers.py."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import crypto
from tests.submission.test_page_sealing import _INSTALLED

DRIVER = Path(__file__).with_name("pool_seal.mjs")
CHUNK = 64 * 1024
JOB = 16 * CHUNK  # submission/static/src/pool.js JOB_CHUNKS
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, JOB, JOB + 1, 5 * JOB + 12345, 3 * JOB, 4 * 1024 * 1024 + CHUNK]

pytestmark = pytest.mark.skipif(
    not _INSTALLED and not os.environ.get("CI"),
    reason="typage is not installed: run `npm ci` in the repository (make test does)",
)


def seal_with_pool(out: Path, paths: list[Path], workers: int, recipients: list[str]) -> dict[str, list[int]]:
    node = shutil.which("node")
    assert node, "node is missing: make test installs nodejs"
    result = subprocess.run(
        [node, str(DRIVER), str(out), str(workers), *recipients],
        input=json.dumps({"files": [str(p) for p in paths]}).encode(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    report: dict[str, list[int]] = json.loads(result.stdout)
    return report


def age_opens(envelope: Path, identity: crypto.X25519Identity, tmp_path: Path) -> bytes:
    key_file = tmp_path / "reviewer.key"
    key_file.write_text(identity.to_text() + "\n")
    result = subprocess.run(
        ["age", "--decrypt", "-i", str(key_file), str(envelope)], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def random_inputs(directory: Path, sizes: list[int]) -> list[Path]:
    """One file of random bytes per size, in `directory`."""
    paths = []
    for index, size in enumerate(sizes):
        path = directory / f"in-{index}"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


@pytest.mark.parametrize("workers", [1, 3])
def test_envelopes_sealed_by_the_pool_open_to_the_exact_bytes(tmp_path: Path, workers: int) -> None:
    identity = crypto.X25519Identity.generate()
    other = crypto.X25519Identity.generate()
    paths = random_inputs(tmp_path, SIZES)
    out = tmp_path / "out"
    out.mkdir()
    report = seal_with_pool(out, paths, workers, [str(identity.recipient), str(other.recipient)])
    for item, (path, size) in enumerate(zip(paths, SIZES, strict=True), start=1):
        envelope = out / f"{item}.content.age"
        assert report["sizes"][item - 1] == envelope.stat().st_size, "the Upload-Length announced first"
        assert report["jobs"][item - 1] == max(1, -(-size // JOB)), "one job per MiB of plaintext"
        assert age_opens(envelope, identity, tmp_path) == path.read_bytes()
        assert crypto.open_bytes(envelope.read_bytes(), [other]) == path.read_bytes()


def test_a_hybrid_recipient_opens_what_the_pool_sealed(tmp_path: Path) -> None:
    identity = crypto.generate_identity(post_quantum=True)
    path = tmp_path / "in"
    path.write_bytes(os.urandom(2 * JOB + 7))
    out = tmp_path / "out"
    out.mkdir()
    seal_with_pool(out, [path], 2, [str(identity.recipient)])
    assert crypto.open_bytes((out / "1.content.age").read_bytes(), [identity]) == path.read_bytes()
