"""Fixtures for the evidence catalogue: one session-wide import of realistic and hostile files
that most tests read (copies are made for tests that change the catalogue).

The station is tests/conftest.py's (its unlock cache included); the probe, the import and
everything else stay real.
"""

import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from review import media
from tests.support import media_samples as samples
from tests.support.catalogue import (
    MESSAGES,
    Evidence,
    ProbeCall,
    Upload,
    evidence_uploads,
    ids_by_label,
    import_submissions,
    text_sha256,
)
from tests.support.station import Station


@pytest.fixture(scope="session")
def evidence(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Evidence:
    work = tmp_path_factory.mktemp("evidence")
    station = station_template.copy_to(work / "station")
    first, second, marker = evidence_uploads(work)
    assert not marker.exists()
    private_tmp = work / "tmp"
    private_tmp.mkdir(mode=0o700)
    calls: list[ProbeCall] = []
    real_probe = media.probe

    def recording_probe(path: Path, timeout: float = media.TIMEOUT_SECONDS) -> media.Facts:
        details = path.parent.stat(), path.stat()
        facts = real_probe(path, timeout)
        calls.append(
            ProbeCall(path, stat.S_IMODE(details[0].st_mode), stat.S_IMODE(details[1].st_mode), facts.status)
        )
        return facts

    submissions: list[tuple[str, Sequence[Upload]]] = [("", first[:4]), ("", first[4:]), ("", second)]
    submissions += [(text, ()) for text in MESSAGES.values()]
    with pytest.MonkeyPatch.context() as patch:
        # Every temporary directory of the import lands where this test can see it.
        patch.setattr(tempfile, "tempdir", str(private_tmp))
        patch.setattr(media, "probe", recording_probe)
        result = import_submissions(station, work, submissions)
    uploads = first + second
    by_sha256 = {r["sha256"]: r["id"] for r in station.items() if r["kind"] == "message"}
    messages = {label: by_sha256[text_sha256(text)] for label, text in MESSAGES.items()}
    return Evidence(
        station=station,
        uploads={u.label: u for u in uploads},
        ids=ids_by_label(station, uploads),
        messages=messages,
        marker=marker,
        import_output=result.output,
        probe_calls=calls,
        private_tmp=private_tmp,
        has_video=samples.have_ffmpeg(),
    )


@pytest.fixture
def catalogue(tmp_path: Path, evidence: Evidence) -> Evidence:
    """A private copy of the session's imported catalogue, for tests that change it."""
    copy = Evidence(**{**evidence.__dict__, "station": evidence.station.copy_to(tmp_path / "station")})
    return copy
