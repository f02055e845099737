"""A source's whole journey in a real headless Chromium with JavaScript OFF, against a real gunicorn.

Tor Browser at "Safest" runs no script, so neither does this browser, and the test drives it with
element finds, typing and clicks only (never execute_script). First visit: landing page, "Get a
codename", the codename read from id="codename", a message and TWO files chosen at once in the
`multiple` file input, the confirmation page. Second visit, in a fresh profile: log in with the
codename typed in upper case with extra spaces, one submission listed by day, log out. Finally the
sealed envelopes are opened with the reviewer's identity and compared with what was chosen.

Screenshots of the codename and confirmation pages go to test-artifacts/ (gitignored).
"""

import datetime
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.support.browser import ARTIFACTS, Browsers, assert_javascript_is_off, main_text, wait_for_page
from tests.support.live import LiveIntake, running_intake

pytestmark = pytest.mark.browser

MESSAGE = "Сайлау учаскесі №1142: карусель дауыс беру, 14:20.\nBallot stuffing filmed at the back door."


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("browser")) as server:
        yield server


def fake_jpeg(marker: bytes) -> bytes:
    jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return jfif + os.urandom(20_000) + marker + os.urandom(3_000) + b"\xff\xd9"


def fake_mp4(marker: bytes) -> bytes:
    ftyp = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    size = 3 * 1024 * 1024
    body = bytearray(os.urandom(size - len(ftyp)))
    for offset in (0, size // 2, size - len(ftyp) - len(marker)):
        body[offset : offset + len(marker)] = marker
    return ftyp + bytes(body)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def test_a_source_sends_two_files_and_comes_back_without_javascript(
    intake: LiveIntake, browsers: Browsers, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    marker = b"TAMGA-BROWSER-" + secrets.token_hex(12).encode()
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    photo = chosen / "photo.jpg"
    video = chosen / "сайлау учаскесі 1142.mp4"
    photo.write_bytes(fake_jpeg(marker))
    video.write_bytes(fake_mp4(marker))
    day_before = utc_today()

    # First visit.
    driver = browsers.start()
    assert_javascript_is_off(driver)
    driver.get(intake.base_url + "/")
    assert "Send evidence of election violations safely" in main_text(driver)
    driver.find_element(By.XPATH, "//form[@action='/codename']//button[@type='submit']").click()
    wait_for_page(driver, "/codename", "#codename")
    codename = driver.find_element(By.ID, "codename").text.strip()
    assert len(codename.split()) >= 7 and codename == codename.lower()
    driver.save_screenshot(str(ARTIFACTS / "intake-codename.png"))
    driver.find_element(By.PARTIAL_LINK_TEXT, "continue").click()
    wait_for_page(driver, "/submit", "form[action='/submit'] input#files")
    assert driver.find_elements(By.CSS_SELECTOR, "ul.days li") == []  # nothing sent yet
    driver.find_element(By.ID, "message").send_keys(MESSAGE)
    files = driver.find_element(By.ID, "files")
    assert files.get_attribute("multiple") is not None
    files.send_keys("\n".join([str(photo), str(video)]))
    driver.find_element(By.XPATH, "//form[@action='/submit']//button[@type='submit']").click()
    wait_for_page(driver, "/thanks", "h1")
    driver.save_screenshot(str(ARTIFACTS / "intake-thanks.png"))
    assert "your submission was received" in main_text(driver)
    assert "locked as it arrived" in main_text(driver)
    browsers.quit(driver)  # the source closes Tor Browser

    # Second visit, another profile: the codename typed in upper case with stray spaces.
    driver = browsers.start()
    assert_javascript_is_off(driver)
    driver.get(intake.base_url + "/")
    driver.find_element(By.ID, "codename-input").send_keys("  " + "  ".join(codename.upper().split()) + " ")
    driver.find_element(By.XPATH, "//form[@action='/login']//button[@type='submit']").click()
    wait_for_page(driver, ("/login", "/submit"), "form[action='/submit'] input#files")
    days = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "ul.days li")]
    assert len(days) == 1, days
    assert any(days[0].startswith(f"A submission on {day.isoformat()}") for day in (day_before, utc_today()))
    driver.find_element(By.XPATH, "//form[@action='/logout']//button[@type='submit']").click()
    wait_for_page(driver, "/logged-out", "h1")
    assert "You are logged out" in main_text(driver)
    assert driver.find_elements(By.CSS_SELECTOR, "form[action='/logout']") == []
    driver.get(intake.base_url + "/submit")  # the source's page is closed now
    assert driver.find_elements(By.CSS_SELECTOR, "p.error[data-status='403']"), main_text(driver)
    assert driver.find_elements(By.CSS_SELECTOR, "form[action='/submit']") == []

    # What the reviewers will open: the message, both files' names, types and bytes.
    ((submission_id,),) = intake.query("SELECT id FROM submissions")
    opened = intake.opened_submission(str(submission_id))
    assert opened.message == MESSAGE
    received = sorted((name, kind, digest(data), data.count(marker)) for name, kind, data in opened.files)
    expected = sorted(
        [
            ("photo.jpg", "image/jpeg", digest(photo.read_bytes()), 1),
            ("сайлау учаскесі 1142.mp4", "video/mp4", digest(video.read_bytes()), 3),
        ]
    )
    assert received == expected
    assert intake.submission_count() == 1
    assert list(intake.store_dir.glob("*.part")) == []
