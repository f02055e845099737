"""The canary: plaintext with a marker is uploaded to a real gunicorn and must be found on no disk.

Random bytes carrying a distinctive marker ("TAMGA-CANARY-" + random hex, at several offsets,
some across the server's 64 KiB STREAM chunks and 256 KiB reads) are uploaded below (100 KiB) and
above (8 MiB) Werkzeug's 500 KiB spool threshold, once with `Transfer-Encoding: chunked`, and in
the message field. While uploads are half-way, every regular file the server's processes hold
open (deleted ones included, read through /proc/PID/fd/N) is searched; afterwards every file under
the data directory, the server's TMPDIR, /tmp, /var/tmp and /dev/shm. Then the envelopes are opened
with the reviewer's identity to prove the marker did arrive. An upload cut off half-way must leave
no `*.part`, no envelope and no database row.

The test never writes the marker to disk itself (bodies are built in memory), and never prints it:
failure messages name paths and offsets only.
"""

import hashlib
import os
import secrets
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.live import LiveIntake, running_intake
from tests.support.visitor import RawUpload, Response, Visitor, multipart

KiB = 1024
MiB = 1024 * KiB
SCAN_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")
MAX_SCANNED_FILE = 1024 * MiB  # larger files cannot come from these uploads (8 MiB at most)
BLOCK = 4 * MiB


MARKER_PREFIX = b"TAMGA-CANARY-"


@pytest.fixture(scope="module")
def marker() -> bytes:
    return MARKER_PREFIX + secrets.token_hex(16).encode()


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("canary")) as server:
        yield server


def canary_bytes(size: int, marker: bytes) -> bytes:
    """Random bytes with the marker at the start, the end, across chunk and read boundaries and between."""
    data = bytearray(os.urandom(size))
    offsets = {0, size - len(marker), size // 3, size // 2 + 17}
    for boundary in (64 * KiB, 256 * KiB, 500 * KiB, 512 * KiB, 4 * MiB):
        if boundary + len(marker) < size:
            offsets.add(boundary - len(marker) // 2)
    for offset in sorted(offsets):
        data[offset : offset + len(marker)] = marker
    return bytes(data)


def search(path: str, marker: bytes) -> int | None:
    """Offset of the marker in a file, or None (also when it cannot be read)."""
    tail = b""
    position = 0
    try:
        with open(path, "rb") as f:
            while block := f.read(BLOCK):
                window = tail + block
                found = window.find(marker)
                if found >= 0:
                    return position - len(tail) + found
                tail = window[-(len(marker) - 1) :]
                position += len(block)
    except OSError:
        return None
    return None


@dataclass
class OpenFilesScan:
    """What the server's processes held open while an upload was half-way."""

    label: str
    regular_files: list[str] = field(default_factory=list)  # the link targets, "(deleted)" included
    hits: list[str] = field(default_factory=list)


def scan_open_files(pids: list[int], marker: bytes, label: str) -> OpenFilesScan:
    """Search every regular file the processes hold open, deleted or not, through /proc/PID/fd/N."""
    scan = OpenFilesScan(label)
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{pid}/fd/{fd}"
            try:
                target = os.readlink(path)
                info = os.stat(path)  # follows the link: works for deleted files too
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SCANNED_FILE:
                continue
            scan.regular_files.append(target)
            offset = search(path, marker)
            if offset is not None:
                scan.hits.append(f"pid {pid} fd {fd} -> {target} at offset {offset}")
    return scan


def scan_disk(roots: list[Path | str], marker: bytes) -> tuple[list[str], int]:
    """Every regular file under the roots that holds the marker; and how many files were searched."""
    hits: list[str] = []
    searched = 0
    seen: set[tuple[int, int]] = set()
    for root in roots:
        for directory, _dirs, names in os.walk(root, onerror=lambda _error: None):
            for name in names:
                path = os.path.join(directory, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                key = (info.st_dev, info.st_ino)
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SCANNED_FILE or key in seen:
                    continue
                seen.add(key)
                searched += 1
                offset = search(path, marker)
                if offset is not None:
                    hits.append(f"{path} at offset {offset}")
    return hits, searched


def submission_ids(intake: LiveIntake) -> set[str]:
    return {str(row[0]) for row in intake.query("SELECT id FROM submissions")}


def largest_part(intake: LiveIntake) -> int:
    sizes = [0]
    for path in intake.store_dir.glob("*.part"):
        try:
            sizes.append(path.stat().st_size)
        except FileNotFoundError:
            continue
    return max(sizes)


def wait_for_part(intake: LiveIntake, at_least: int, timeout: float = 15.0) -> int:
    """Wait until the server has sealed `at_least` bytes into some *.part; return the size seen."""
    deadline = time.monotonic() + timeout
    size = largest_part(intake)
    while size < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
        size = largest_part(intake)
    return size


@dataclass
class Upload:
    label: str
    message: str
    files: list[tuple[str, str, bytes]]
    response: Response
    new_submissions: set[str]


@dataclass
class CanaryRun:
    uploads: list[Upload] = field(default_factory=list)
    open_files: list[OpenFilesScan] = field(default_factory=list)
    sealed_before_scan: dict[str, int] = field(default_factory=dict)
    disk_hits_in_flight: list[str] = field(default_factory=list)


def _upload_whole(intake: LiveIntake, visitor: Visitor, label: str, message: str, files) -> Upload:  # type: ignore[no-untyped-def]
    before = submission_ids(intake)
    content_type, body = multipart(visitor.submit_token(), message, files)
    response = visitor.request("POST", "/submit", body, {"Content-Type": content_type})
    return Upload(label, message, list(files), response, submission_ids(intake) - before)


def _upload_with_pause(  # type: ignore[no-untyped-def]
    intake: LiveIntake, visitor: Visitor, run: CanaryRun, marker: bytes, label: str, files, chunked: bool
) -> Upload:
    """Send about 60% of the body, wait until the server sealed most of it, scan its open files, finish."""
    before = submission_ids(intake)
    content_type, body = multipart(visitor.submit_token(), "", files)
    upload = RawUpload(visitor, content_type, None if chunked else len(body))
    try:
        pause_at = int(len(body) * 0.6)
        step = 61 * KiB + 7 if chunked else 256 * KiB
        for start in range(0, pause_at, step):  # paced a little, like a (fast) circuit
            upload.send(body[start : min(start + step, pause_at)])
            time.sleep(0.002)
        run.sealed_before_scan[label] = wait_for_part(intake, pause_at - 3 * MiB)
        run.open_files.append(scan_open_files(intake.server_pids(), marker, label))
        run.disk_hits_in_flight += scan_disk([intake.data_dir, intake.tmpdir], marker)[0]
        for start in range(pause_at, len(body), step):
            upload.send(body[start : start + step])
            time.sleep(0.001)
        response = upload.finish()
    except BaseException:
        upload.abort()
        raise
    return Upload(label, "", list(files), response, submission_ids(intake) - before)


@pytest.fixture(scope="module")
def canary_run(intake: LiveIntake, marker: bytes) -> CanaryRun:
    """All uploads of the canary, recorded (the tests below judge them)."""
    visitor = Visitor(intake)
    visitor.new_source()
    run = CanaryRun()
    text = marker.decode()
    run.uploads.append(
        _upload_whole(
            intake,
            visitor,
            "100 KiB file and a message",
            f"Carousel voting at polling station 1142, Almaty. {text} Seen at 14:20.",
            [("protocol scan.jpg", "image/jpeg", canary_bytes(100 * KiB, marker))],
        )
    )
    run.uploads.append(
        _upload_with_pause(
            intake,
            visitor,
            run,
            marker,
            "8 MiB file, paused half-way",
            [("VID_20240310_0815.mp4", "video/mp4", canary_bytes(8 * MiB, marker))],
            chunked=False,
        )
    )
    run.uploads.append(
        _upload_with_pause(
            intake,
            visitor,
            run,
            marker,
            "chunked transfer encoding, 6 MiB and 600 KiB files",
            [
                ("ballot-box.mov", "video/quicktime", canary_bytes(6 * MiB, marker)),
                ("statement.pdf", "application/pdf", canary_bytes(600 * KiB, marker)),
            ],
            chunked=True,
        )
    )
    return run


@dataclass
class KilledUpload:
    part_seen: int
    leftover_parts: list[str]
    new_names: set[str]
    submissions_before: int
    submissions_after: int
    envelopes_before: int
    envelopes_after: int
    seconds_to_clean: float


def _envelope_count(intake: LiveIntake) -> int:
    return int(intake.query("SELECT count(*) FROM envelopes")[0][0])  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def killed_upload(intake: LiveIntake, marker: bytes, canary_run: CanaryRun) -> KilledUpload:
    """A 4 MiB upload whose connection dies after half of it was sent."""
    visitor = Visitor(intake)
    visitor.new_source()
    token = visitor.submit_token()
    names_before = intake.stored_names()
    submissions_before, envelopes_before = intake.submission_count(), _envelope_count(intake)
    content_type, body = multipart(token, "", [("cut.mp4", "video/mp4", canary_bytes(4 * MiB, marker))])
    upload = RawUpload(visitor, content_type, len(body))
    try:
        half = len(body) // 2
        for start in range(0, half, 128 * KiB):
            upload.send(body[start : min(start + 128 * KiB, half)])
        part_seen = wait_for_part(intake, 512 * KiB)
    finally:
        upload.abort()
    cut_at = time.monotonic()
    deadline = cut_at + 10
    while time.monotonic() < deadline:
        leftover = sorted(p.name for p in intake.store_dir.glob("*.part"))
        if not leftover and intake.stored_names() == names_before:
            break
        time.sleep(0.05)
    return KilledUpload(
        part_seen=part_seen,
        leftover_parts=sorted(p.name for p in intake.store_dir.glob("*.part")),
        new_names=intake.stored_names() - names_before,
        submissions_before=submissions_before,
        submissions_after=intake.submission_count(),
        envelopes_before=envelopes_before,
        envelopes_after=_envelope_count(intake),
        seconds_to_clean=time.monotonic() - cut_at,
    )


def test_the_searches_find_a_planted_marker(intake: LiveIntake) -> None:
    """A control with another marker: an unlinked temporary file held open, and a named file."""
    control = b"TAMGA-CONTROL-" + secrets.token_hex(16).encode()
    with tempfile.TemporaryFile(dir=intake.tmpdir) as hidden:  # O_TMPFILE: no name in any directory
        hidden.write(os.urandom(3 * MiB) + control + os.urandom(100))
        hidden.flush()
        scan = scan_open_files([os.getpid()], control, "control")
        assert len(scan.hits) == 1
        assert scan_disk([intake.tmpdir], control)[0] == []
    named = intake.tmpdir / "control.bin"
    named.write_bytes(os.urandom(BLOCK - 5) + control)  # across a read block boundary
    try:
        hits, _ = scan_disk([intake.tmpdir], control)
        assert hits == [f"{named} at offset {BLOCK - 5}"]
    finally:
        named.unlink()


def test_every_upload_was_accepted(canary_run: CanaryRun) -> None:
    assert len(canary_run.uploads) == 3
    for upload in canary_run.uploads:
        assert upload.response.status == 303, (upload.label, upload.response.status, upload.response.text)
        assert upload.response.location is not None and upload.response.location.endswith("/thanks")
        assert len(upload.new_submissions) == 1, upload.label


def test_no_file_held_open_during_an_upload_holds_the_marker(canary_run: CanaryRun) -> None:
    assert [scan.label for scan in canary_run.open_files] == [u.label for u in canary_run.uploads[1:]]
    for scan in canary_run.open_files:
        # The scan looked at the right processes at the right moment: the upload's *.part was open.
        assert any(target.endswith(".age.part") for target in scan.regular_files), scan
        assert scan.hits == [], f"{scan.label}: plaintext in a file held open: {scan.hits}"
    for label, sealed in canary_run.sealed_before_scan.items():
        assert sealed >= 1 * MiB, f"{label}: the server had sealed only {sealed} bytes when the scan ran"


def test_marker_is_on_no_disk(
    intake: LiveIntake, marker: bytes, canary_run: CanaryRun, killed_upload: KilledUpload
) -> None:
    hits, searched = scan_disk([intake.data_dir, intake.tmpdir, *SCAN_ROOTS], marker)
    assert searched > 10
    assert hits == [], f"plaintext found on disk: {hits}"
    assert canary_run.disk_hits_in_flight == [], (
        f"plaintext on disk mid-upload: {canary_run.disk_hits_in_flight}"
    )


def fingerprint(files: list[tuple[str, str, bytes]]) -> list[tuple[str, str, int, str, int]]:
    """(name, type, size, SHA-256, markers found) per file: comparable without printing plaintext."""
    return [
        (name, kind, len(data), hashlib.sha256(data).hexdigest(), data.count(MARKER_PREFIX))
        for name, kind, data in files
    ]


def test_envelopes_open_to_exactly_what_was_sent(
    intake: LiveIntake, canary_run: CanaryRun, marker: bytes
) -> None:
    for upload in canary_run.uploads:
        (submission_id,) = upload.new_submissions
        opened = intake.opened_submission(submission_id)
        message = opened.message
        if upload.message:
            same_message = message == upload.message.strip()
            assert same_message, f"{upload.label}: the opened message differs from the one sent"
            assert str(message).count(marker.decode()) == 1
        else:
            assert message is None
        assert fingerprint(opened.files) == fingerprint(upload.files), upload.label
        for _name, _type, data in opened.files:
            assert data.count(marker) >= 5, f"{upload.label}: the marker is not in the opened file"
        # What is stored is ciphertext, a little larger than the plaintext, never the plaintext itself.
        names = [
            str(row[0])
            for row in intake.query(
                "SELECT storage_name FROM envelopes WHERE submission_id = ? AND kind = 'file-content'",
                (submission_id,),
            )
        ]
        stored = sorted((intake.store_dir / name).stat().st_size for name in names)
        sizes = sorted(len(data) for _n, _t, data in upload.files)
        assert all(s > p for s, p in zip(stored, sizes, strict=True))


def test_an_upload_cut_off_half_way_leaves_nothing(killed_upload: KilledUpload) -> None:
    assert killed_upload.part_seen >= 512 * KiB, "the server never started sealing the cut upload"
    assert killed_upload.leftover_parts == []
    assert killed_upload.new_names == set()
    assert killed_upload.submissions_after == killed_upload.submissions_before
    assert killed_upload.envelopes_after == killed_upload.envelopes_before
    assert killed_upload.seconds_to_clean < 10


def test_server_log_has_no_traceback(
    intake: LiveIntake, canary_run: CanaryRun, killed_upload: KilledUpload
) -> None:
    log = intake.log()
    assert "Traceback" not in log
    assert "Exception" not in log


# --- Uploads that stall, and what uploads in flight cost in memory ------------------------------


def test_a_stalled_upload_is_abandoned_and_leaves_nothing(tmp_path: Path, marker: bytes) -> None:
    """An upload that stops sending (a Tor circuit that hangs) is aborted at the idle timeout."""
    with running_intake(tmp_path / "stall", workers=1, limits={"idle_upload_seconds": 2}) as server:
        visitor = Visitor(server)
        visitor.new_source()
        content_type, body = multipart(
            visitor.submit_token(), "", [("stalled.mp4", "video/mp4", canary_bytes(4 * MiB, marker))]
        )
        upload = RawUpload(visitor, content_type, len(body))
        try:
            upload.send(body[: 2 * MiB])
            assert wait_for_part(server, 512 * KiB, timeout=5) >= 512 * KiB
            deadline = time.monotonic() + 10
            while list(server.store_dir.glob("*.part")) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert list(server.store_dir.iterdir()) == []
        finally:
            upload.abort()
        assert server.submission_count() == 0
        hits, _ = scan_disk([server.data_dir, server.tmpdir], marker)
        assert hits == [], f"plaintext found on disk: {hits}"
        assert "Traceback" not in server.log()
