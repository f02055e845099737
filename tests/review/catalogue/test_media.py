"""Media facts read from hostile files in a separate, fresh, unprivileged process.

Most tests read the session's import (tests/review/catalogue/conftest.py `evidence`): realistic photos
and a video next to a decompression bomb, a truncated MP4 and files named like shell commands,
all in one bundle. The probe's isolation is shown with a stand-in interpreter: `review.media`
starts `sys.executable -I -m review.probe_worker`, so pointing `sys.executable` at a small script
(only in that test) lets the test see what the probe process sees, or make it hang.
"""

import json
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from review import media
from tests.support import media_samples as samples
from tests.support.catalogue import Evidence, Upload, ids_by_label, import_submissions, needs_video
from tests.support.station import PASSPHRASE, Station

# --- facts ----------------------------------------------------------------------------------------


def test_the_import_completes_with_hostile_files_among_good_ones(evidence: Evidence) -> None:
    files = len(evidence.uploads)
    assert f"imported {files + len(evidence.messages)} item(s), quarantined 0" in evidence.import_output
    rows = {row["id"]: row for row in evidence.station.items()}
    for label, upload in evidence.uploads.items():
        row = rows[evidence.ids[label]]
        assert row["status"] == "new", label
        assert (row["sha256"], row["size"]) == (upload.sha256, len(upload.content)), label
    assert evidence.station.verify() > files


def test_a_camera_photo_yields_its_facts_and_is_flagged_identifying(evidence: Evidence) -> None:
    shown = evidence.item("exif")
    assert shown["probe"] == "ok"
    facts = shown["media"]
    assert facts["media_type"] == "image/jpeg"
    assert (facts["width"], facts["height"]) == (640, 480)
    assert facts["capture_time"] == samples.CAPTURE_TIME
    assert (facts["device_make"], facts["device_model"]) == (samples.DEVICE_MAKE, samples.DEVICE_MODEL)
    assert facts["device_serial"] == samples.DEVICE_SERIAL
    assert facts["owner_name"] == samples.OWNER_NAME
    assert facts["gps"] == pytest.approx(list(samples.GPS_DEGREES), abs=1e-6)
    assert len(facts["phash"]) == 16
    assert shown["identifying_metadata"] == ["gps", "device_serial", "owner_name"]
    listed = next(r for r in evidence.station.items() if r["id"] == evidence.ids["exif"])
    assert listed["identifying_metadata"] == ["gps", "device_serial", "owner_name"]


def test_a_photo_without_exif_is_not_flagged(evidence: Evidence) -> None:
    shown = evidence.item("plain")
    assert shown["probe"] == "ok"
    assert shown["identifying_metadata"] == []
    facts = shown["media"]
    assert (facts["media_type"], facts["width"], facts["height"]) == ("image/jpeg", 640, 480)
    assert not {"gps", "device_serial", "owner_name", "device_make", "capture_time"} & set(facts)


def test_a_video_yields_duration_dimensions_and_gps(evidence: Evidence) -> None:
    needs_video(evidence)
    shown = evidence.item("video")
    assert shown["probe"] == "ok"
    facts = shown["media"]
    assert facts["media_type"] == "video/mp4"
    assert facts["duration"] == pytest.approx(2.0, abs=0.15)
    assert (facts["width"], facts["height"]) == (320, 240)
    assert facts["gps"] == pytest.approx([43.25, 76.95], abs=1e-6)
    assert facts["capture_time"].startswith("2024-03-17T09:02:00")
    assert shown["identifying_metadata"] == ["gps"]


@pytest.mark.parametrize("label", ["video-truncated", "bomb", "bomb-warning"])
def test_truncated_video_and_decompression_bombs_end_unparsed(evidence: Evidence, label: str) -> None:
    if label.startswith("video"):
        needs_video(evidence)
    shown = evidence.item(label)
    assert shown["probe"] == "unparsed"
    assert shown["status"] == "new", "an unparsed probe is no reason to quarantine"
    assert shown["media"]["media_type"] == ("video/mp4" if label.startswith("video") else "image/png")
    assert not {"width", "height", "duration", "phash"} & set(shown["media"])
    assert shown["identifying_metadata"] == []
    assert shown["sha256"] == evidence.uploads[label].sha256


def test_the_media_type_is_sniffed_not_taken_from_the_name(evidence: Evidence) -> None:
    shown = evidence.item("shell-mp4")
    assert shown["name"].endswith(".mp4") and shown["type"] == "video/mp4"
    assert shown["probe"] == "ok"
    assert shown["media"]["media_type"] == "image/jpeg"
    assert (shown["media"]["width"], shown["media"]["height"]) == (640, 480)


def test_file_names_that_are_shell_commands_are_only_ever_data(evidence: Evidence) -> None:
    assert not evidence.marker.exists(), f"{evidence.marker} exists: a file name was run as a command"
    for label in ("shell-jpg", "shell-mp4"):
        shown = evidence.item(label)
        assert shown["name"] == evidence.uploads[label].name, "the name is kept verbatim, as evidence"
        assert shown["probe"] == "ok"
    # The probe only ever saw a neutral name in a private directory.
    assert evidence.probe_calls
    for call in evidence.probe_calls:
        assert call.path.name == "evidence"
        assert call.path.parent.name.startswith("tamga-")
        assert call.path.parent.parent == evidence.private_tmp


def test_probes_read_a_private_copy_that_is_removed_afterwards(evidence: Evidence) -> None:
    assert len(evidence.probe_calls) == len(evidence.uploads), "every media file is probed"
    for call in evidence.probe_calls:
        assert (call.directory_mode, call.file_mode) == (0o700, 0o600)
        assert not call.path.exists() and not call.path.parent.exists()
    assert list(evidence.private_tmp.iterdir()) == [], "a decrypted temporary file was left behind"
    statuses = sorted(c.status for c in evidence.probe_calls)
    assert statuses.count("unparsed") == (3 if evidence.has_video else 2)


@pytest.mark.parametrize("label", ["exif", "video", "bomb", "video-truncated"])
def test_the_original_stays_byte_identical(catalogue: Evidence, tmp_path: Path, label: str) -> None:
    """Identifying metadata is flagged, never stripped: extract gives back the uploaded bytes."""
    if label.startswith("video"):
        needs_video(catalogue)
    out = tmp_path / "extracted"
    catalogue.station.ok("extract", catalogue.ids[label], "--out", out)
    assert out.read_bytes() == catalogue.uploads[label].content
    assert catalogue.station.custody_actions(catalogue.ids[label])[-1] == "extracted"


def test_without_ffprobe_a_video_is_skipped_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not samples.have_ffmpeg():
        pytest.skip("ffmpeg is not installed: no video sample")
    path = tmp_path / "evidence"
    path.write_bytes(samples.mp4(tmp_path))
    monkeypatch.setattr(media.shutil, "which", lambda name: None)
    facts = media.probe(path, timeout=20)
    assert facts.status == "skipped"
    assert facts.values["media_type"] == "video/mp4"
    assert facts.identifying == []


# --- isolation of the probe process ---------------------------------------------------------------


def stand_in(tmp_path: Path, body: str) -> Path:
    """An executable script that media.probe will start instead of the Python interpreter.

    It receives the probe's arguments (-I -m review.probe_worker FILE FFPROBE) in sys.argv[1:];
    `REAL` is the real interpreter, to exec when the script has done its part.
    """
    script = tmp_path / "python-stand-in"
    script.write_text(
        f"#!{sys.executable}\nimport json, os, sys, time\nREAL = {sys.executable!r}\n{body}\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


class RecordingPopen:
    """Wraps subprocess.Popen to keep the arguments media.probe passes to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        self._real: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen

    def __call__(self, args: list[str], **kwargs: Any) -> "subprocess.Popen[bytes]":
        self.calls.append((list(args), dict(kwargs)))
        return self._real(args, **kwargs)


def test_the_probe_is_started_fresh_with_an_empty_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMGA_PASSPHRASE", PASSPHRASE)
    path = tmp_path / "evidence"
    path.write_bytes(samples.exif_jpeg())
    recorder = RecordingPopen()
    monkeypatch.setattr(media.subprocess, "Popen", recorder)
    facts = media.probe(path)
    assert facts.status == "ok" and facts.values["device_serial"] == samples.DEVICE_SERIAL
    ((command, options),) = recorder.calls
    assert command[:4] == [sys.executable, "-I", "-m", "review.probe_worker"]
    assert command[4] == str(path)
    assert options["env"] == {}
    assert options.get("shell", False) is False
    assert options["start_new_session"] is True
    assert options["close_fds"] is True
    assert options["stdin"] == subprocess.DEVNULL
    assert "preexec_fn" not in options, "no Python code may run between fork and exec"


def test_the_probe_process_sees_no_passphrase_during_a_real_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, station: Station
) -> None:
    """The import runs as `tamga-review import` with TAMGA_PASSPHRASE set; each probe process
    writes down its environment, arguments and working directory, then becomes the real probe."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    script = stand_in(
        tmp_path,
        f"""
path = sys.argv[4]
record = {{
    "environ": dict(os.environ),
    "proc_environ": open("/proc/self/environ", "rb").read().decode("utf-8", "replace"),
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "mode": os.stat(path).st_mode & 0o777,
    "pgid_is_own": os.getpgid(0) == os.getpid(),
}}
with open(os.path.join({str(dumps)!r}, str(os.getpid()) + ".json"), "w") as out:
    json.dump(record, out)
os.execv(REAL, [REAL, *sys.argv[1:]])
""",
    )
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir(mode=0o700)
    monkeypatch.setattr("tempfile.tempdir", str(private_tmp))
    monkeypatch.setattr(sys, "executable", str(script))
    uploads = [Upload("exif", samples.exif_jpeg(seed=9), "IMG_1001.JPG", "image/jpeg")]
    uploads.append(Upload("bomb", samples.bomb_png(20_000, 20_000), "scan.png", "image/png"))
    import_submissions(station, tmp_path, [("", uploads)])
    monkeypatch.undo()

    records = [json.loads(p.read_text()) for p in sorted(dumps.iterdir())]
    assert len(records) == 2, "one probe process per media file"
    for record in records:
        assert "TAMGA_PASSPHRASE" not in record["environ"]
        assert PASSPHRASE not in record["proc_environ"]
        assert record["proc_environ"] == "", "the probe was started with an empty environment"
        # Python's own C-locale coercion is the only thing allowed to appear.
        assert set(record["environ"]) <= {"LC_CTYPE"}, record["environ"]
        assert record["argv"][:3] == ["-I", "-m", "review.probe_worker"]
        probed = Path(record["argv"][3])
        assert probed.name == "evidence" and probed.parent.parent == private_tmp
        assert record["cwd"] == str(probed.parent)
        assert record["mode"] == 0o600
        assert record["pgid_is_own"], "the probe runs in its own session and process group"
    assert list(private_tmp.iterdir()) == []
    ids = ids_by_label(station, uploads)
    assert station.show(ids["exif"])["media"]["device_serial"] == samples.DEVICE_SERIAL
    assert station.show(ids["bomb"])["probe"] == "unparsed"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_probe_that_hangs_is_killed_with_its_whole_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = tmp_path / "pids.json"
    script = stand_in(
        tmp_path,
        f"""
import subprocess
child = subprocess.Popen([REAL, "-c", "import time; time.sleep(120)"])
with open({str(pids)!r}, "w") as out:
    json.dump([os.getpid(), child.pid], out)
time.sleep(120)
""",
    )
    path = tmp_path / "evidence"
    path.write_bytes(samples.plain_jpeg())
    monkeypatch.setattr(sys, "executable", str(script))
    started = time.monotonic()
    facts = media.probe(path, timeout=1.0)
    elapsed = time.monotonic() - started
    monkeypatch.undo()
    assert facts.status == "unparsed"
    assert facts.values == {"error": "timed out"}
    assert facts.identifying == []
    assert 1.0 <= elapsed < 10, elapsed
    probe_pid, grandchild = json.loads(pids.read_text())
    deadline = time.monotonic() + 5
    while (_alive(probe_pid) or _alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(probe_pid), "the probe process survived its timeout"
    assert not _alive(grandchild), "a process the probe started survived: the group was not killed"


def test_a_file_that_makes_the_probe_hang_ends_unparsed_and_the_import_carries_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, station: Station
) -> None:
    """The stand-in hangs only for the file carrying the marker: the probe of that one file is
    killed at its timeout (shortened for the test), the others are read normally."""
    script = stand_in(
        tmp_path,
        f"""
with open(sys.argv[4], "rb") as src:
    if {samples.SLEEP_MARKER!r} in src.read():
        time.sleep(120)
os.execv(REAL, [REAL, *sys.argv[1:]])
""",
    )
    monkeypatch.setattr(sys, "executable", str(script))
    monkeypatch.setattr(media, "probe", partial(media.probe, timeout=8.0))  # loaded CI machines
    uploads = [
        Upload("first", samples.plain_jpeg(seed=11), "before.jpg", "image/jpeg"),
        Upload("sleepy", samples.sleepy_jpeg(seed=12), "sleepy.jpg", "image/jpeg"),
        Upload("last", samples.exif_jpeg(seed=13), "after.jpg", "image/jpeg"),
    ]
    started = time.monotonic()
    result = import_submissions(station, tmp_path, [("", uploads)])
    elapsed = time.monotonic() - started
    monkeypatch.undo()
    assert "imported 3 item(s), quarantined 0" in result.output
    assert elapsed < 30, elapsed
    ids = ids_by_label(station, uploads)
    sleepy = station.show(ids["sleepy"])
    assert (sleepy["probe"], sleepy["media"]["error"]) == ("unparsed", "timed out")
    assert sleepy["media"]["media_type"] == "image/jpeg"
    assert station.show(ids["first"])["probe"] == "ok"
    assert station.show(ids["last"])["media"]["device_serial"] == samples.DEVICE_SERIAL
    assert station.verify() > 3


def test_the_probe_worker_limits_itself_before_it_opens_the_file(tmp_path: Path) -> None:
    """Run the worker's main() in a fresh isolated interpreter, with `open` spied on: every time
    the evidence file is opened (by the worker or by Pillow), the limits are already in place."""
    path = tmp_path / "evidence"
    path.write_bytes(samples.exif_jpeg())
    script = tmp_path / "spy.py"
    script.write_text(
        """
import builtins, io, json, resource, sys
import review.probe_worker as worker

NAMES = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_NOFILE")
seen = []
real_open = builtins.open

def spy(file, *args, **kwargs):
    if str(file) == sys.argv[1]:
        seen.append({name: resource.getrlimit(getattr(resource, name)) for name in NAMES})
    return real_open(file, *args, **kwargs)

builtins.open = io.open = spy
worker.main(["probe_worker", sys.argv[1], ""])
sys.stderr.write(json.dumps(seen))
""",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-I", str(script), str(path)], capture_output=True, env={}, timeout=60, check=True
    )
    assert json.loads(result.stdout)["device_serial"] == samples.DEVICE_SERIAL
    seen = json.loads(result.stderr)
    assert len(seen) >= 2, "the worker and Pillow both open the file"
    for limits in seen:
        assert limits["RLIMIT_CPU"][1] <= 20
        assert limits["RLIMIT_AS"][1] <= 1024**3
        assert limits["RLIMIT_FSIZE"][1] <= 16 * 1024**2
        assert limits["RLIMIT_CORE"] == [0, 0]
        assert limits["RLIMIT_NOFILE"][1] <= 64
