"""Issue 11, item 1: upload slots are taken only once the CSRF token has arrived, are capped per
session and across workers, and a body that trickles is cut; real uploads of other sessions go on."""

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from submission.slots import SlotDirectory
from tests.support.live import LiveIntake, running_intake
from tests.support.visitor import RawUpload, Visitor, multipart, new_boundary, part_header

LIMITS = {
    "max_concurrent_uploads": 8,
    "max_uploads_in_flight": 3,
    "max_uploads_per_session": 2,
    "token_seconds": 3,
    "min_upload_bytes_per_second": 1000,
    "upload_rate_window_seconds": 4,  # long enough that, under load, the holders still hold
}
HUGE = 1_000_000_000


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    """One worker: before the fix, its 8 upload slots were the only cap."""
    with running_intake(tmp_path_factory.mktemp("slots"), workers=1, threads=32, limits=LIMITS) as server:
        yield server


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    limits = {**LIMITS, "upload_rate_window_seconds": 8}
    with running_intake(tmp_path_factory.mktemp("slots2"), workers=2, threads=16, limits=limits) as server:
        yield server


def token_head(token: str, boundary: str) -> bytes:
    """What a browser sends first: the CSRF token part, then the start of a file part."""
    return (
        part_header(boundary, "csrf_token")
        + token.encode()
        + b"\r\n"
        + part_header(boundary, "files", "big.mp4", "video/mp4")
        + secrets.token_bytes(2048)
    )


def stalled_upload(visitor: Visitor, token: str | None) -> RawUpload:
    """A POST that declares a gigabyte; with a token it sends the first part and a little of a
    file, then nothing more."""
    boundary = new_boundary()
    upload = RawUpload(visitor, f"multipart/form-data; boundary={boundary}", HUGE)
    if token is not None:
        upload.send(token_head(token, boundary))
    return upload


def attacker(server: LiveIntake) -> tuple[Visitor, str]:
    visitor = Visitor(server, timeout=30)
    visitor.new_source()
    return visitor, visitor.submit_token()


def real_upload(server: LiveIntake) -> int:
    visitor = Visitor(server, timeout=30)
    visitor.new_source()
    content_type, body = multipart(
        visitor.submit_token(), "", [("a.jpg", "image/jpeg", secrets.token_bytes(20_000))]
    )
    return visitor.request("POST", "/submit", body, {"Content-Type": content_type}).status


def finish_all(uploads: list[RawUpload]) -> list[int]:
    return sorted(upload.finish().status for upload in uploads)


def test_stalled_uploads_of_one_session_leave_real_uploads_served(intake: LiveIntake) -> None:
    visitor, token = attacker(intake)
    without_token = [stalled_upload(visitor, None) for _ in range(8)]
    with_token = [stalled_upload(visitor, token) for _ in range(8)]
    try:
        time.sleep(0.5)
        assert [real_upload(intake) for _ in range(4)] == [303] * 4
        # Two hold the session's slots until the minimum rate cuts them; the rest were refused at once.
        assert finish_all(with_token) == [408] * 2 + [429] * 6
        assert finish_all(without_token) == [408] * 8  # never sent a token: cut at its deadline
    finally:
        for upload in without_token + with_token:
            upload.abort()


def test_the_caps_hold_across_worker_processes(two_workers: LiveIntake) -> None:
    first, first_token = attacker(two_workers)
    second, second_token = attacker(two_workers)
    uploads = [stalled_upload(first, first_token) for _ in range(6)]
    time.sleep(0.5)
    uploads += [stalled_upload(second, second_token) for _ in range(2)]
    try:
        statuses = [upload.finish().status for upload in uploads]
        assert sorted(statuses[:6]) == [408] * 2 + [429] * 4  # the session's 2, in either worker
        assert sorted(statuses[6:]) == [408, 503]  # the third and last global slot
    finally:
        for upload in uploads:
            upload.abort()


def test_a_body_that_never_sends_its_token_is_cut_at_the_token_deadline(intake: LiveIntake) -> None:
    visitor = Visitor(intake, timeout=20)
    visitor.new_source()
    upload = stalled_upload(visitor, None)
    for _ in range(5):  # a byte now and then does not keep it alive (and stops before the cut)
        upload.send(b"-")
        time.sleep(0.5)
    assert upload.finish().status == 408


def test_a_trickle_after_the_token_is_cut(intake: LiveIntake) -> None:
    visitor = Visitor(intake, timeout=20)
    visitor.new_source()
    upload = stalled_upload(visitor, visitor.submit_token())
    for _ in range(3):  # 10 bytes a second, far below the minimum rate (and stops before the cut)
        upload.send(b"x" * 5)
        time.sleep(0.5)
    assert upload.finish().status == 408
    assert list(intake.store_dir.glob("*.part")) == []


def test_an_upload_at_tor_speed_is_not_cut(intake: LiveIntake) -> None:
    visitor = Visitor(intake, timeout=30)
    visitor.new_source()
    content_type, body = multipart(
        visitor.submit_token(), "", [("v.mp4", "video/mp4", secrets.token_bytes(250_000))]
    )
    upload = RawUpload(visitor, content_type, len(body))
    for start in range(0, len(body), 10_000):  # about 50 KB/s
        upload.send(body[start : start + 10_000])
        time.sleep(0.2)
    assert upload.finish().status == 303


def test_slots_come_back_after_uploads_end(intake: LiveIntake, tmp_path: Path) -> None:
    visitor = Visitor(intake, timeout=30)
    visitor.new_source()
    token = visitor.submit_token()
    for _ in range(3):  # more than the session's cap, one after another
        upload = stalled_upload(visitor, token)
        upload.abort()
    time.sleep(1)
    content_type, body = multipart(token, "after", [])
    assert visitor.request("POST", "/submit", body, {"Content-Type": content_type}).status == 303


def test_a_slot_is_shared_by_separate_opens_and_stale_files_are_removed(tmp_path: Path) -> None:
    slots = SlotDirectory(tmp_path / "locks")
    held = slots.take("upload", 2)
    other = slots.take("upload", 2)
    assert held is not None and other is not None
    assert slots.take("upload", 2) is None  # both taken, even from the same process
    other.release()
    (tmp_path / "locks" / "upload-session-abc-0.lock").touch()  # left by a killed worker
    assert slots.remove_stale() == 1
    assert sorted(p.name for p in (tmp_path / "locks").iterdir()) == [held.path.name]
    held.release()
    assert list((tmp_path / "locks").iterdir()) == []
