"""A staged copy that cannot be written (a full disk) refuses the whole import, in both of the
ways an import runs: the worker thread's failure reaches the command although no envelope waits
for the worker any more (review/importer.py tells contents after the last envelope)."""

import errno
import threading
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from review import pipeline, vault
from review.pipeline import Inline, Worker
from tests.support.bundles import random_file_bundle
from tests.support.intake import Intake
from tests.support.station import Station, assert_refused


@pytest.fixture(params=["worker threads", "inline"])
def threaded(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    on = request.param == "worker threads"
    monkeypatch.setattr(pipeline, "runner", Worker if on else Inline)
    monkeypatch.setattr(pipeline, "hasher", Worker if on else lambda: None)
    return on


class FullAfterOneWrite:
    """A staged file on a disk that fills after its first write."""

    def __init__(self, out: BinaryIO) -> None:
        self._out, self._writes = out, 0

    def write(self, data: Any) -> int:
        self._writes += 1
        if self._writes > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._out.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


@pytest.mark.parametrize("failing", [1, 3], ids=["first envelope", "last envelope"])
def test_a_staged_write_that_fails_refuses_the_import_and_leaves_nothing(
    tmp_path: Path,
    station: Station,
    intake: Intake,
    monkeypatch: pytest.MonkeyPatch,
    threaded: bool,
    failing: int,
) -> None:
    path = tmp_path / "b.tar"
    random_file_bundle(path, intake.key, station.recipient, 3 * 1024 * 1024)
    real = vault.create_direct
    opened = 0

    def create_direct(target: Path) -> Any:
        nonlocal opened
        opened += 1
        out = real(target)
        return FullAfterOneWrite(out) if opened == failing else out

    monkeypatch.setattr(vault, "create_direct", create_direct)
    line = assert_refused(station.run("import", path), "no space left on device")
    assert line.startswith("Error: ")
    assert list(station.vault.rglob("*.age")) == []
    assert station.items() == []
    assert [t.name for t in threading.enumerate() if t.name.startswith("tamga-")] == []
    monkeypatch.setattr(vault, "create_direct", real)
    assert "imported 3 item(s)" in station.ok("import", path).stdout  # nothing half-done blocks a retry
