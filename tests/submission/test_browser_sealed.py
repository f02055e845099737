"""Sealing in the page, in a real headless Chromium with JavaScript ON, against a real gunicorn,
through a loopback proxy that records every byte the browser sends (tests/support/wire.py).

The source types a message and chooses two files; the page seals all five envelopes to the
form's `data-recipients` and uploads only ciphertext with tus; the proxy cuts the connection
mid-upload several times, or a gunicorn worker is killed mid-upload, and the submission still
arrives whole: the `age` command line (the classic station's tool) opens every envelope to the
exact bytes, while a marker in the message and inside both files never crossed the wire. With
the script blocked, the same form posts the no-JS way. Screenshots go to test-artifacts/.
"""

import json
import os
import re
import secrets
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import ARTIFACTS, Browsers, main_text, wait_for_page
from tests.support.live import LiveIntake
from tests.support.wire import RecordingProxy

pytestmark = pytest.mark.browser

MIB = 1024 * 1024
VIDEO_NAME = "сайлау учаскесі 1142.mp4"
PIECE = 4 * MIB  # submission/static/src/upload.js PIECE_BYTES
UPLOAD_TIMEOUT = 240.0  # cut connections cost 1, 2 and 4 s of back-off


@pytest.fixture
def proxy(live_intake: LiveIntake) -> Iterator[RecordingProxy]:
    with RecordingProxy(live_intake.port) as recording:
        yield recording


def evidence(directory: Path, marker: bytes, video_bytes: int) -> tuple[Path, Path]:
    """A photo and a video, the marker inside both (the video's in three places)."""
    directory.mkdir()
    photo, video = directory / "photo.jpg", directory / VIDEO_NAME
    photo.write_bytes(
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(30_000) + marker + os.urandom(999) + b"\xff\xd9"
    )
    body = bytearray(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(video_bytes - 24))
    for offset in (100, video_bytes // 2, video_bytes - len(marker)):
        body[offset : offset + len(marker)] = marker
    video.write_bytes(bytes(body))
    return photo, video


def source_with_evidence(
    browsers: Browsers, proxy: RecordingProxy, tmp_path: Path, label: str, video_bytes: int
) -> tuple[WebDriver, bytes, Path, Path]:
    """A marker, a photo and a video holding it, and a browser with JavaScript at the submit page."""
    marker = f"TAMGA-{label}-".encode() + secrets.token_hex(12).encode()
    photo, video = evidence(tmp_path / "chosen", marker, video_bytes)
    driver = browsers.start(javascript=True)
    open_submit_page(driver, proxy.base_url)
    return driver, marker, photo, video


def open_submit_page(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + "/")
    driver.find_element(By.XPATH, "//form[@action='/codename']//button[@type='submit']").click()
    wait_for_page(driver, "/codename", "#codename")
    driver.find_element(By.PARTIAL_LINK_TEXT, "continue").click()
    wait_for_page(driver, "/submit", "form[action='/submit'] input#files")


def fill_and_send(driver: WebDriver, message: str, files: tuple[Path, ...]) -> None:
    driver.find_element(By.ID, "message").send_keys(message)
    driver.find_element(By.ID, "files").send_keys("\n".join(str(f) for f in files))
    driver.find_element(By.XPATH, "//form[@action='/submit']//button[@type='submit']").click()


def age_decrypt(live_intake: LiveIntake, storage_name: str, key_file: Path) -> bytes:
    """The envelope opened by the `age` command line, as a classic station's reviewer can."""
    result = subprocess.run(
        ["age", "--decrypt", "-i", str(key_file), str(live_intake.store_dir / storage_name)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def opened_by_age(live_intake: LiveIntake, tmp_path: Path) -> dict[tuple[int, str], bytes]:
    """The newest submission's envelopes, opened with `age`: (item, kind) -> plaintext."""
    key_file = tmp_path / "reviewer.key"
    key_file.write_text(live_intake.reviewer.to_text() + "\n")
    key_file.chmod(0o600)
    ((submission_id,),) = live_intake.query("SELECT id FROM submissions ORDER BY rowid DESC LIMIT 1")
    rows = live_intake.query(
        "SELECT item, kind, storage_name FROM envelopes WHERE submission_id = ?", (submission_id,)
    )
    return {
        (int(str(item)), str(kind)): age_decrypt(live_intake, str(name), key_file)
        for item, kind, name in rows
    }


def metadata(name: str, kind: str) -> bytes:
    return json.dumps({"name": name, "type": kind}).encode()


def csp_complaints(driver: WebDriver) -> list[str]:
    """Console lines about the CSP or a script error (cut connections log network errors: not these)."""
    lines = [str(entry.get("message", "")) for entry in driver.get_log("browser")]
    return [
        line
        for line in lines
        if "Content Security Policy" in line or "Uncaught" in line or "integrity" in line
    ]


def assert_sealed_journey(
    live_intake: LiveIntake,
    tmp_path: Path,
    proxy: RecordingProxy,
    marker: bytes,
    message: str,
    photo: Path,
    video: Path,
) -> None:
    wire = proxy.sent()
    assert b"PATCH /uploads/" in wire and b"POST /submit/sealed" in wire, "the page sealed and uploaded"
    assert b"POST /submit " not in wire, "the multipart no-JS post was not used"
    assert marker not in wire
    for plain in (message.encode(), VIDEO_NAME.encode(), b"photo.jpg", message.split()[0].encode()):
        assert plain not in wire
    opened = opened_by_age(live_intake, tmp_path)
    assert opened == {
        (0, "message"): message.encode(),
        (1, "file-metadata"): metadata("photo.jpg", "image/jpeg"),
        (1, "file-content"): photo.read_bytes(),
        (2, "file-metadata"): metadata(VIDEO_NAME, "video/mp4"),
        (2, "file-content"): video.read_bytes(),
    }
    assert list(live_intake.store_dir.glob("*.part")) == []


def test_the_page_seals_and_the_upload_survives_cut_connections(
    live_intake: LiveIntake, browsers: Browsers, proxy: RecordingProxy, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    before = live_intake.submission_count()
    driver, marker, photo, video = source_with_evidence(browsers, proxy, tmp_path, "SEALED", 13 * MIB)
    message = f"Карусель на участке №1142 {marker.decode()}: ballot stuffing at 14:20."
    start = len(proxy.sent())
    proxy.cut_at(start + 3 * MIB, start + 6 * MIB + 12345, start + 10 * MIB)
    fill_and_send(driver, message, (photo, video))

    state = driver.find_element(By.CSS_SELECTOR, ".upload-state")
    WebDriverWait(driver, 60, poll_frequency=0.05).until(lambda d: "retrying" in state.text)
    driver.save_screenshot(str(ARTIFACTS / "intake-sealed-retrying.png"))
    assert "Connection lost, retrying" in state.text
    totals = driver.find_element(By.CSS_SELECTOR, ".upload-total").text
    assert " of " in totals and "MB" in totals, totals
    assert len(driver.find_elements(By.CSS_SELECTOR, ".upload-items li")) == 3  # message, photo, video

    wait_for_page(driver, "/thanks", "h1", timeout=UPLOAD_TIMEOUT)
    driver.save_screenshot(str(ARTIFACTS / "intake-sealed-thanks.png"))
    assert "your submission was received" in main_text(driver)
    assert proxy.cut_count == 3
    assert csp_complaints(driver) == []
    assert live_intake.submission_count() == before + 1
    assert_sealed_journey(live_intake, tmp_path, proxy, marker, message, photo, video)


def test_a_worker_killed_mid_upload_costs_a_retry(
    live_intake: LiveIntake, browsers: Browsers, proxy: RecordingProxy, tmp_path: Path
) -> None:
    before = live_intake.submission_count()
    driver, marker, photo, video = source_with_evidence(browsers, proxy, tmp_path, "KILLED", 9 * MIB)
    message = f"Протокол {marker.decode()} переписан."
    killed: list[int] = []

    def kill_the_workers() -> None:  # whichever holds the PATCH: gunicorn starts new ones
        for pid in live_intake.worker_pids():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    start = len(proxy.sent())
    proxy.when_sent(start + 5 * MIB, kill_the_workers)
    fill_and_send(driver, message, (photo, video))
    wait_for_page(driver, "/thanks", "h1", timeout=UPLOAD_TIMEOUT)
    assert killed and not set(killed) & set(live_intake.worker_pids())
    wire = proxy.sent()
    patches = Counter(re.findall(rb"PATCH /uploads/(\w+) ", wire[start:]))
    pieces = -(-video.stat().st_size // PIECE)
    assert max(patches.values()) > pieces, "a piece was sent again"
    plaintext = photo.stat().st_size + video.stat().st_size
    # Chromium may itself re-send a request cut on a reused connection, then tus-js-client resumes:
    # at most two pieces again, never the whole upload.
    assert len(wire) - start < plaintext + 2 * PIECE + 256 * 1024, "only the pieces in flight were sent again"
    assert live_intake.submission_count() == before + 1
    assert_sealed_journey(live_intake, tmp_path, proxy, marker, message, photo, video)


def test_cancel_stops_the_upload_and_deletes_what_was_sent(
    live_intake: LiveIntake, browsers: Browsers, proxy: RecordingProxy, tmp_path: Path
) -> None:
    before = live_intake.submission_count()
    driver, marker, photo, video = source_with_evidence(browsers, proxy, tmp_path, "CANCEL", 9 * MIB)
    start = len(proxy.sent())
    proxy.hold_at(start + 2 * MIB)
    fill_and_send(driver, f"Отмена {marker.decode()}", (photo, video))
    # The message and the photo are on the server and the video's content is stalled mid-way.
    WebDriverWait(driver, 60).until(lambda d: len(proxy.sent()) > start + MIB)
    cancel = driver.find_element(By.CSS_SELECTOR, ".upload-cancel")
    assert cancel.is_displayed()
    cancel.click()
    proxy.release()
    cancelled = driver.find_element(By.CSS_SELECTOR, ".upload-cancelled")
    WebDriverWait(driver, 30).until(lambda d: cancelled.is_displayed())
    assert "Cancelled. Nothing was sent to the reviewers." in cancelled.text
    assert driver.find_element(By.ID, "message").is_enabled(), "the form can be sent again"
    assert not driver.find_element(By.CSS_SELECTOR, ".upload-panel").is_displayed()
    WebDriverWait(driver, 30).until(lambda d: proxy.sent().count(b"DELETE /uploads/") >= 3)
    assert b"POST /submit/sealed" not in proxy.sent()
    assert marker not in proxy.sent()
    assert live_intake.submission_count() == before


def test_with_the_script_blocked_the_form_posts_the_no_js_way(
    live_intake: LiveIntake, browsers: Browsers, proxy: RecordingProxy, tmp_path: Path
) -> None:
    marker = b"TAMGA-NOSCRIPT-" + secrets.token_hex(12).encode()
    photo, video = evidence(tmp_path / "chosen", marker, 2 * MIB)
    driver = browsers.start(javascript=True)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/static/intake.js"]})
    open_submit_page(driver, proxy.base_url)
    assert not driver.find_element(By.CSS_SELECTOR, ".upload-reload-note").is_displayed()
    fill_and_send(driver, "Без скрипта.", (photo, video))
    wait_for_page(driver, "/thanks", "h1", timeout=UPLOAD_TIMEOUT)
    wire = proxy.sent()
    assert b"POST /submit " in wire and b"/uploads" not in wire.split(b"POST /submit ", 1)[1]
    assert marker in wire, "the no-JS path sends plaintext to the server, which seals it"
    opened = opened_by_age(live_intake, tmp_path)
    assert opened[(2, "file-content")] == video.read_bytes()
    assert opened[(0, "message")] == "Без скрипта.".encode()
