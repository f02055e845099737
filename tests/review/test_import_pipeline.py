"""The pipelined import: each envelope is read once, copied into the vault and opened in that read,
with hashing and writing on a worker thread. What it must keep: the vault holds the exact
ciphertext, the catalogue the plaintext's hash, and a member that does not match its manifest
refuses the bundle before any hostile file is probed."""

import random
from pathlib import Path

import pytest

from crypto import seal_bytes
from review import media, pipeline
from review.pipeline import Inline, Worker
from tests.support.bundles import manifest_document, manifest_entry, member, sealed_manifest, sha256, tar
from tests.support.intake import Intake, make_intake, pin
from tests.support.station import Station, assert_refused

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + random.Random(5).randbytes(300_000) + b"\xff\xd9"


def test_the_worker_runs_calls_in_order_and_raises_the_first_failure() -> None:
    seen: list[int] = []
    with Worker() as worker:
        for n in range(100):
            worker.submit(seen.append, n)
    assert seen == list(range(100))

    def fail(n: int) -> None:
        raise OSError(f"disk full at {n}")

    worker = Worker()
    try:
        worker.submit(fail, 1)
        worker.submit(seen.append, 1000)  # skipped: a failure stops the rest
        with pytest.raises(OSError, match="disk full at 1"):
            worker.wait()
        with pytest.raises(OSError, match="disk full at 1"):
            worker.submit(seen.append, 1001)
    finally:
        worker.close()
    assert 1000 not in seen and 1001 not in seen


@pytest.fixture(params=["worker thread", "inline"])
def runner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways an import may run (pipeline.runner() and hasher() pick by the idle cores)."""
    threaded = request.param == "worker thread"
    monkeypatch.setattr(pipeline, "runner", Worker if threaded else Inline)
    monkeypatch.setattr(pipeline, "hasher", Worker if threaded else lambda: None)


@pytest.mark.usefixtures("runner")
def test_every_envelope_reaches_the_vault_whole_and_its_plaintext_is_hashed(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    video = random.Random(9).randbytes(3 * 1024 * 1024 + 5)  # several read-ahead blocks
    contents = [video, JPEG, b""]
    sealed = [seal_bytes(content, [station.recipient]) for content in contents]
    text = seal_bytes(b"A message, too.", [station.recipient])
    cut = seal_bytes(video[:300_000], [station.recipient])[:-100]  # fails in its payload: quarantined
    entries = [manifest_entry(text), manifest_entry(cut, kind="file-content", item=9)] + [
        manifest_entry(envelope, kind="file-content", item=n + 1) for n, envelope in enumerate(sealed)
    ]
    document = manifest_document(intake.key, [station.recipient], 1, entries)
    name, data = sealed_manifest(document, intake.key, [station.recipient])
    path = tmp_path / "b.tar"
    members = [member(sha256(envelope) + ".age", envelope) for envelope in [text, cut, *sealed]]
    path.write_bytes(tar(member(name, data), *members))
    assert "imported 4 item(s), quarantined 1" in station.ok("import", path).stdout
    items = [item for item in station.items() if item["envelope_sha256"] != sha256(cut)]
    assert sorted(item["sha256"] for item in items) == sorted(
        sha256(content) for content in [*contents, b"A message, too."]
    )
    vaulted = sorted(p.read_bytes() for p in station.vault.rglob("*.age"))
    assert vaulted == sorted([text, cut, *sealed])
    (photo,) = [item for item in items if item["sha256"] == sha256(JPEG)]
    assert photo["media"]["media_type"] == "image/jpeg"  # sniffed, probed once the envelope verified


@pytest.mark.usefixtures("runner")
def test_a_member_that_is_not_what_its_manifest_names_is_refused_before_any_probe(
    tmp_path: Path, station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = make_intake(tmp_path / "intake", [station.recipient])
    try:
        pin(station, intake)
        real = seal_bytes(JPEG, [station.recipient])
        listed = seal_bytes(JPEG[::-1], [station.recipient])  # same size, other bytes
        assert len(real) == len(listed)
        document = manifest_document(
            intake.key, [station.recipient], 1, [manifest_entry(listed, kind="file-content")]
        )
        name, data = sealed_manifest(document, intake.key, [station.recipient])
        # The member is named after `listed` but holds `real`, which opens fine with the station key.
        path = tmp_path / "swapped.tar"
        path.write_bytes(tar(member(name, data), member(sha256(listed) + ".age", real)))
        probed: list[Path] = []
        monkeypatch.setattr(media, "probe", lambda path, timeout=0: probed.append(path) or media.Facts("ok"))
        assert_refused(station.run("import", path), "does not match")
        assert probed == []
        assert station.items() == []
        assert list(station.vault.rglob("*.age")) == []
    finally:
        intake.close()
