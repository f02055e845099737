"""The whole journey in Russian and in Kazakh, in a real headless Chromium with JavaScript OFF.

The browser asks for the language (`--lang` and intl.accept_languages), against a real gunicorn
(tests/support/live.py). Landing page, "Get a codename", the codename page, a message and two files
chosen at once, the confirmation; then a fresh profile logs in with the codename and logs out.
Every step is checked for the translated heading and for English left on the page. Screenshots of
the landing and codename pages go to test-artifacts/i18n-*.png, to look at the Cyrillic (tofu).
"""

import datetime
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from submission.codenames import WORDS_PER_CODENAME, word_list
from tests.support.browser import ARTIFACTS, Browsers, assert_javascript_is_off
from tests.support.i18n import TRANSLATED, collapse, english_left, t
from tests.support.live import LiveIntake, running_intake

pytestmark = pytest.mark.browser

MESSAGE = {
    "ru": "Участок №1142: вброс бюллетеней в 14:20, снято у задней двери.",
    "kk": "№1142 учаске: сағат 14:20-да бюллетеньдер салынды, артқы есіктен түсірілді.",
}
FILE_NAME = {"ru": "участок 1142.mp4", "kk": "сайлау учаскесі 1142.mp4"}


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("i18n-browser")) as server:
        yield server


@pytest.fixture
def new_browser(tmp_path: Path) -> Iterator[Callable[[str], WebDriver]]:
    """Headless Chromiums asking for one language, each with a fresh profile and no JavaScript."""
    browsers = Browsers(tmp_path)
    yield lambda lang: browsers.start(lang, accept_languages=lang)
    browsers.quit_all()


def wait_for(driver: WebDriver, path: str, css: str, timeout: float = 30) -> None:
    """Until the browser shows `path` with an element matching `css` (no script needed)."""

    def arrived(d: WebDriver) -> bool:
        return urlsplit(d.current_url).path == path and bool(d.find_elements(By.CSS_SELECTOR, css))

    try:
        WebDriverWait(driver, timeout).until(arrived)
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"waited for {path} ({css}); at {driver.current_url}: {body!r}") from None


def assert_in_language(driver: WebDriver, lang: str, heading: str, codename: str = "") -> str:
    """The page is in `lang`: <html lang>, the translated <h1>, no English left; returns the text."""
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert collapse(driver.find_element(By.TAG_NAME, "h1").text) == t(lang, heading)
    text = collapse(driver.title + " " + driver.find_element(By.TAG_NAME, "body").text)
    assert english_left(text.replace(codename, " ") if codename else text) == [], text
    return text


def fake_jpeg(marker: bytes) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + os.urandom(8000) + marker


def fake_mp4(marker: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(256 * 1024) + marker


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_whole_journey_in_the_browsers_language(
    intake: LiveIntake, new_browser: Callable[[str], WebDriver], tmp_path: Path, lang: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    marker = b"TAMGA-I18N-" + secrets.token_hex(12).encode()
    photo, video = tmp_path / "photo.jpg", tmp_path / FILE_NAME[lang]
    photo.write_bytes(fake_jpeg(marker))
    video.write_bytes(fake_mp4(marker))
    day_before = utc_today()

    # First visit: landing page, then a codename.
    driver = new_browser(lang)
    assert_javascript_is_off(driver)
    driver.get(intake.base_url + "/")
    wait_for(driver, "/", "form[action='/codename']")
    text = assert_in_language(driver, lang, "Send evidence of election violations safely")
    assert t(lang, "Before you start: stay safe") in text
    assert driver.title == t(lang, "Tamga: send evidence safely")
    driver.save_screenshot(str(ARTIFACTS / f"i18n-landing-{lang}.png"))
    driver.find_element(By.XPATH, "//form[@action='/codename']//button[@type='submit']").click()
    wait_for(driver, "/codename", "#codename")
    codename = driver.find_element(By.ID, "codename").text.strip()
    words = codename.split()
    assert len(words) == WORDS_PER_CODENAME and all(w.isascii() and w in word_list() for w in words)
    text = assert_in_language(driver, lang, "Your codename", codename)
    assert (
        t(
            lang,
            "The words of your codename are English words, whatever language you read this page in. "
            "Type them exactly as they are shown here.",
        )
        in text
    )
    driver.save_screenshot(str(ARTIFACTS / f"i18n-codename-{lang}.png"))
    driver.find_element(By.LINK_TEXT, t(lang, "I have memorised it: continue")).click()

    # The message and two files chosen at once.
    wait_for(driver, "/submit", "form[action='/submit'] input#files")
    assert_in_language(driver, lang, "Your page")
    driver.find_element(By.ID, "message").send_keys(MESSAGE[lang])
    driver.find_element(By.ID, "files").send_keys(f"{photo}\n{video}")
    driver.find_element(By.XPATH, "//form[@action='/submit']//button[@type='submit']").click()
    wait_for(driver, "/thanks", "h1")
    text = assert_in_language(driver, lang, "Thank you: your submission was received")
    assert t(lang, "When you are done, log out and close Tor Browser.") in text
    driver.quit()

    # Second visit in a fresh profile: log in with the codename, see the submission, log out.
    driver = new_browser(lang)
    driver.get(intake.base_url + "/")
    wait_for(driver, "/", "#codename-input")
    driver.find_element(By.ID, "codename-input").send_keys(codename)
    driver.find_element(By.XPATH, "//form[@action='/login']//button[@type='submit']").click()
    wait_for(driver, "/login", "form[action='/submit'] input#files")
    assert_in_language(driver, lang, "Your page")
    days = [collapse(item.text) for item in driver.find_elements(By.CSS_SELECTOR, "ul.days li")]
    sent_on = {t(lang, "A submission on %(day)s", day=day.isoformat()) for day in (day_before, utc_today())}
    assert len(days) == 1 and any(days[0].startswith(start) for start in sent_on), days
    assert t(lang, "waiting to be collected by the reviewers") in days[0]
    driver.find_element(By.XPATH, "//form[@action='/logout']//button[@type='submit']").click()
    wait_for(driver, "/logged-out", "h1")
    text = assert_in_language(driver, lang, "You are logged out")
    assert t(lang, "Close Tor Browser now to clear everything from this visit.") in text
    driver.get(intake.base_url + "/submit")
    wait_for(driver, "/submit", "p.error")
    assert_in_language(driver, lang, "Sorry")
    assert driver.find_element(By.CSS_SELECTOR, "p.error").text == t(
        lang, "Your session has ended. Please log in again with your codename."
    )

    # What the reviewers will open: the message and both files, unchanged.
    opened = [intake.opened_submission(str(row[0])) for row in intake.query("SELECT id FROM submissions")]
    (mine,) = [o for o in opened if o.message == MESSAGE[lang]]
    assert sorted(mine.files) == sorted(
        [
            ("photo.jpg", "image/jpeg", photo.read_bytes()),
            (FILE_NAME[lang], "video/mp4", video.read_bytes()),
        ]
    )
