"""The seal-worker path with its buffers going round (tests/submission/recycle_seal.mjs): the pool
hands each job's ciphertext buffer back to a worker once the pieces hold a copy, the workers read
plaintext into buffers they keep, and the upload's source gives each acknowledged piece back to be
filled again. Every buffer crosses between "threads" detached as a real transfer does, and the
server keeps only part of some PATCHes, so a buffer reused too early would show as wrong bytes:
the envelopes must open to the exact plaintext, and the buffers must actually be reused."""

import os
from pathlib import Path

import pytest

import crypto
from tests.submission import test_seal_pool
from tests.submission.test_page_sealing import _INSTALLED
from tests.submission.test_seal_pool import JOB, age_opens

DRIVER = Path(__file__).with_name("recycle_seal.mjs")
PIECE = 4 * 1024 * 1024  # submission/static/src/upload.js PIECE_BYTES
JOBS_AHEAD = 2  # submission/static/src/pool.js, per worker
SIZES = [0, JOB - 1, 3 * JOB + 5, 2 * PIECE, 3 * PIECE + JOB + 77, 9 * JOB, 5 * PIECE + 12345]

pytestmark = pytest.mark.skipif(
    not _INSTALLED and not os.environ.get("CI"),
    reason="typage is not installed: run `npm ci` in the repository (make test does)",
)


def seal_and_upload(out: Path, paths: list[Path], workers: int, recipient: str) -> dict[str, list[int]]:
    """test_seal_pool's run of a Node driver, with this file's driver."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(test_seal_pool, "DRIVER", DRIVER)
        return test_seal_pool.seal_with_pool(out, paths, workers, [recipient])


@pytest.mark.parametrize("workers", [1, 2])
def test_reused_buffers_seal_and_upload_the_exact_bytes(tmp_path: Path, workers: int) -> None:
    identity = crypto.X25519Identity.generate()
    paths = test_seal_pool.random_inputs(tmp_path, SIZES)
    out = tmp_path / "out"
    out.mkdir()
    report = seal_and_upload(out, paths, workers, str(identity.recipient))
    for item, path in enumerate(paths, start=1):
        envelope = out / f"{item}.content.age"
        assert report["sizes"][item - 1] == envelope.stat().st_size
        assert age_opens(envelope, identity, tmp_path) == path.read_bytes()
        jobs, spared = report["jobs"][item - 1], report["spared"][item - 1]
        # Only the jobs sent before any ciphertext came back, and a short final run's, lack a spare.
        assert spared >= jobs - JOBS_AHEAD * workers - 1
        reused, cut = report["reused"][item - 1], report["cut"][item - 1]
        whole_pieces = report["sizes"][item - 1] // PIECE
        # Every whole piece after the first fills the buffer of one the server acknowledged, but
        # for one read while the server still lacked part of the piece before (a cut PATCH).
        assert max(0, whole_pieces - 1 - cut) <= reused <= max(0, whole_pieces - 1), (reused, cut)
        assert whole_pieces < 3 or reused > 0
