"""Each staged envelope is written and fsynced by a thread of its own while the import reads the
next one (review/vault.py): the vault still receives only envelopes whose fsync succeeded, and a failed
fsync refuses the import with nothing catalogued, no file left open and no thread left behind."""

import os
import threading
from pathlib import Path

import pytest

from review import pipeline, vault
from review.pipeline import Inline, Worker
from tests.support.bundles import random_file_bundle
from tests.support.intake import Intake
from tests.support.station import Station, assert_refused


@pytest.fixture(params=["worker thread", "inline"])
def runner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "runner", Worker if request.param == "worker thread" else Inline)


def _bundle(tmp_path: Path, station: Station, intake: Intake) -> tuple[Path, list[bytes]]:
    path = tmp_path / "b.tar"
    return path, random_file_bundle(path, intake.key, station.recipient, 1024 * 1024)


def _threads() -> list[str]:
    ours = ("tamga-stage-writer", "tamga-direct-writer", "tamga-import", "tamga-worker")
    return [t.name for t in threading.enumerate() if t.name.startswith(ours)]


@pytest.mark.usefixtures("runner")
def test_every_staged_envelope_is_fsynced_before_it_moves_into_the_vault(
    tmp_path: Path, station: Station, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, sealed = _bundle(tmp_path, station, intake)
    synced: list[int] = []
    real_fsync, real_replace = os.fsync, os.replace
    moved_unsynced: list[str] = []

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.fstat(fd).st_ino)

    def replace(src: str | Path, dst: str | Path) -> None:
        if os.stat(src).st_ino not in synced:
            moved_unsynced.append(str(src))
        real_replace(src, dst)

    monkeypatch.setattr(vault.os, "fsync", fsync)
    monkeypatch.setattr(vault.os, "replace", replace)
    assert "imported 3 item(s)" in station.ok("import", path).stdout
    assert moved_unsynced == []
    assert sorted(p.read_bytes() for p in station.vault.rglob("*.age")) == sorted(sealed)
    assert _threads() == []


@pytest.mark.usefixtures("runner")
def test_a_failed_fsync_refuses_the_import_and_leaves_nothing_behind(
    tmp_path: Path, station: Station, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = _bundle(tmp_path, station, intake)
    real_fsync = os.fsync
    calls = 0

    def fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second envelope's
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(vault.os, "fsync", fsync)
    line = assert_refused(station.run("import", path), "input/output error")
    assert line.startswith("Error: ")
    assert list(station.vault.rglob("*.age")) == []
    assert station.items() == []
    assert _threads() == []
    monkeypatch.setattr(vault.os, "fsync", real_fsync)
    assert "imported 3 item(s)" in station.ok("import", path).stdout  # nothing half-done blocks a retry
