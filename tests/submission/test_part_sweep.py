"""The sweep of abandoned upload parts never locks a live upload's part.

Every new resumable upload sweeps the parts directory. It used to lock each part before asking
whether an upload owns it, so a source whose PATCH or final commit came at that moment found its
own part locked and was refused (400 for a commit): seen under load in a test whose commit came
while a restarted worker swept.
"""

from pathlib import Path

from submission.store import EnvelopeStore


def _store(tmp_path: Path) -> tuple[EnvelopeStore, Path]:
    (tmp_path / "store").mkdir()
    (tmp_path / "uploads").mkdir()
    return EnvelopeStore(tmp_path / "store", 0), tmp_path / "uploads"


def _part(store: EnvelopeStore, uploads: Path, data: bytes) -> str:
    envelope = store.new(uploads)
    envelope.write(data)
    envelope.sync()
    name = envelope.name
    envelope.release()
    return name


def test_a_live_upload_can_be_locked_while_the_sweep_asks_about_it(tmp_path: Path) -> None:
    store, uploads = _store(tmp_path)
    live = _part(store, uploads, b"age-encryption.org/v1\n")
    locked_by_others: list[bool] = []

    def keep(name: str) -> bool:
        envelope = store.resume(uploads, name)  # a commit or a PATCH of this upload, just now
        locked_by_others.append(envelope is None)
        if envelope is not None:
            envelope.release()
        return name == live

    assert store.remove_stale_parts(uploads, keep=keep) == 0
    assert locked_by_others == [False]
    assert [path.name for path in uploads.iterdir()] == [live + ".part"]


def test_the_sweep_removes_orphans_and_spares_parts_being_created(tmp_path: Path) -> None:
    store, uploads = _store(tmp_path)
    orphan = _part(store, uploads, b"left by a killed worker")
    being_created = store.new(uploads)  # locked until its row exists: keep() cannot see it yet
    try:
        assert store.remove_stale_parts(uploads, keep=lambda name: False) == 1
        names = {path.name for path in uploads.iterdir()}
        assert orphan + ".part" not in names
        assert being_created.name + ".part" in names
    finally:
        being_created.discard()
