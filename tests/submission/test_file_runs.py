"""The page reads each file once, in order, into the buffers it hands in (submission/static/src/
runs.js, under Node: tests/submission/file_runs.mjs): runs of any length come back as the exact
bytes, in the very buffers given, from a byte stream (BYOB) or from a stream of uneven chunks;
a file shorter than its runs is an error, not short bytes; and the seal pool, reading a file of
many runs, allocates plaintext buffers only for the jobs in flight, then reuses the ones the
workers give back, while the envelope still opens to the exact bytes."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import crypto
from tests.submission.test_page_sealing import _INSTALLED
from tests.submission.test_seal_pool import age_opens

DRIVER = Path(__file__).with_name("file_runs.mjs")
MIB = 1024 * 1024
JOB = MIB  # submission/static/src/pool.js JOB_CHUNKS of 64 KiB
JOBS_AHEAD = 2  # submission/static/src/pool.js, per worker
RUNS = [0, 1, 64 * 1024 - 1, 64 * 1024 + 1, MIB, 7, MIB - 3]

pytestmark = pytest.mark.skipif(
    not _INSTALLED and not os.environ.get("CI"),
    reason="typage is not installed: run `npm ci` in the repository (make test does)",
)


def node(*args: str) -> bytes:
    found = shutil.which("node")
    assert found, "node is missing: make test installs nodejs"
    result = subprocess.run([found, str(DRIVER), *args], capture_output=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def read_runs(path: Path, mode: str, lengths: list[int]) -> tuple[bytes, dict[str, object]]:
    out = node("runs", str(path), mode, *map(str, lengths))
    data, _, facts = out.rpartition(b"\n")
    return data, json.loads(facts)


@pytest.mark.parametrize("mode", ["byob", "copying"])
def test_runs_are_the_files_bytes_in_the_buffers_given(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "in"
    path.write_bytes(os.urandom(sum(RUNS) + 12345))
    data, facts = read_runs(path, mode, RUNS)
    assert facts["byob"] is (mode == "byob")
    assert facts["error"] is None
    assert facts["lengths"] == RUNS
    assert facts["buffers"] == [MIB] * len(RUNS), "each run in the buffer handed in, not a new one"
    assert data == path.read_bytes()[: sum(RUNS)]


@pytest.mark.parametrize("mode", ["byob", "copying"])
def test_a_file_shorter_than_its_runs_is_an_error(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "in"
    path.write_bytes(os.urandom(MIB + 10))
    data, facts = read_runs(path, mode, [MIB, 11])
    assert facts["error"] == "the file ended before its size"
    assert facts["lengths"] == [MIB]
    assert data == path.read_bytes()[:MIB]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_pool_reuses_its_plaintext_buffers(tmp_path: Path, workers: int) -> None:
    identity = crypto.X25519Identity.generate()
    path = tmp_path / "in"
    path.write_bytes(os.urandom(40 * JOB + 777))
    out = tmp_path / "out.age"
    facts = json.loads(node("pool", str(path), str(out), str(workers), str(identity.recipient)))
    assert facts["runs"] == 41
    # One buffer per job in flight, then only the ones the workers gave back.
    assert facts["plaintextBuffers"] <= JOBS_AHEAD * workers
    assert age_opens(out, identity, tmp_path) == path.read_bytes()
