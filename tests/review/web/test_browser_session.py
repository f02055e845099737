"""A reviewer's whole session in headless Chromium, JavaScript off and on, on a served station.

Off: unlock, browse the inbox, open the JPEG (GPS flag), the PDF pages, the HTML file (not shown),
tag and verify an item, reply, export the outbox, lock. On: the same start, then play and seek the
MP4 in the page (the one place the test runs script: to drive the <video> element), and upload a
bundle through the page's script, which shows the upload's progress. Screenshots go
to test-artifacts/station-*.png.
"""

import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.review.web.conftest import Evidence, Station
from tests.review.web.test_serve import serving
from tests.support import browser as support
from tests.support.intake import make_intake, pin

pytestmark = pytest.mark.browser


def chromium(profile: Path, javascript: bool) -> WebDriver:
    if not javascript:
        return support.chromium(profile)
    options = webdriver.ChromeOptions()
    options.binary_location = support.CHROMIUM
    for flag in support.FLAGS:
        if "scriptEnabled" not in flag:
            options.add_argument(flag)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=support.CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def session_station(tmp_path: Path, web_evidence: Evidence) -> Evidence:
    return Evidence(
        web_evidence.station.copy_to(tmp_path / "station"), web_evidence.ids, web_evidence.message
    )


def shot(driver: WebDriver, name: str) -> None:
    support.ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(support.ARTIFACTS / f"station-{name}.png"))


def unlock(driver: WebDriver, url: str) -> None:
    driver.get(url)
    support.wait_for_page(driver, "/unlock", "#passphrase")
    shot(driver, "unlock")
    driver.find_element(By.ID, "passphrase").send_keys(Station.PASSPHRASE)
    driver.find_element(By.ID, "actor").send_keys("Aigerim (browser)")
    driver.find_element(By.ID, "unlock").click()
    support.wait_for_page(driver, "/", "section.submission", timeout=60)


def open_item(driver: WebDriver, item_id: int) -> None:
    driver.find_element(By.CSS_SELECTOR, f'a[href="/item/{item_id}"]').click()
    support.wait_for_page(driver, f"/item/{item_id}", "#viewer")


@pytest.fixture
def drivers(tmp_path: Path) -> Iterator[list[WebDriver]]:
    started: list[WebDriver] = []
    yield started
    for driver in started:
        driver.quit()


@pytest.fixture
def session_url(session_station: Evidence) -> Iterator[str]:
    """The address `serve` printed for the session's station."""
    with serving(session_station.station.root) as (port, token, _):
        yield f"http://127.0.0.1:{port}/?token={token}"


def a_new_bundle(evidence: Evidence, work: Path) -> Path:
    intake = make_intake(work / "intake", [evidence.station.recipient])
    pin(evidence.station, intake)
    try:
        intake.submit("Another message, sent later")
        ((bundle, _),) = intake.export_ok(work / "later.tar")
        return bundle
    finally:
        intake.close()


def here(driver: WebDriver) -> str:
    return "/" + driver.current_url.split("/", 3)[3]


def test_a_session_without_javascript(
    session_station: Evidence, session_url: str, drivers: list[WebDriver], tmp_path: Path
) -> None:
    evidence, url = session_station, session_url
    driver = chromium(tmp_path / "profile-off", javascript=False)
    drivers.append(driver)
    support.assert_javascript_is_off(driver)
    unlock(driver, url)
    shot(driver, "inbox")
    assert "2 submissions" in support.main_text(driver)

    open_item(driver, evidence.ids["jpeg"])
    assert "GPS position" in driver.find_element(By.ID, "identifying").text
    shot(driver, "jpeg")

    driver.get(url.split("/?")[0] + f"/item/{evidence.ids['pdf']}")
    support.wait_for_page(driver, f"/item/{evidence.ids['pdf']}", "#viewer")
    pages = driver.find_elements(By.CSS_SELECTOR, "img.pdf-page")
    shot(driver, "pdf")
    assert len(pages) == 2

    driver.get(url.split("/?")[0] + f"/item/{evidence.ids['html']}")
    support.wait_for_page(driver, f"/item/{evidence.ids['html']}", "#not-shown")
    assert driver.title != "ran" and "hostile" not in driver.page_source
    shot(driver, "html")

    driver.get(url.split("/?")[0] + f"/item/{evidence.ids['jpeg']}")
    support.wait_for_page(driver, f"/item/{evidence.ids['jpeg']}", "#catalogue")
    Select(driver.find_element(By.ID, "incident")).select_by_value("ballot.stuffing")
    driver.find_element(By.ID, "polling_station").send_keys("112")
    driver.find_element(By.ID, "region").send_keys("Almaty")
    driver.find_element(By.ID, "when").send_keys("2024-03-17T14:02+05:00")
    Select(driver.find_element(By.ID, "status")).select_by_value("verified")
    driver.find_element(By.ID, "note").send_keys("Seen from the observers' bench")
    driver.find_element(By.ID, "save").click()
    support.wait_for_page(driver, f"/item/{evidence.ids['jpeg']}", ".notice")
    shot(driver, "catalogued")
    shown = evidence.station.show(evidence.ids["jpeg"])
    assert shown["status"] == "verified" and shown["incidents"] == ["ballot.stuffing"]
    actions = [e["action"] for e in evidence.station.events(f"item:{evidence.ids['jpeg']}")]
    assert actions[-3:] == ["tagged", "status", "noted"]
    assert "verified" in driver.find_element(By.ID, "history").text

    driver.find_element(By.PARTIAL_LINK_TEXT, "Its submission").click()
    support.wait_for_page(driver, None, "#reply-text")
    driver.find_element(By.ID, "reply-text").send_keys("Thank you. Which polling station was this?")
    driver.find_element(By.ID, "send-reply").click()
    support.wait_for_page(driver, None, ".notice")
    shot(driver, "replied")

    driver.find_element(By.LINK_TEXT, "Outbox").click()
    support.wait_for_page(driver, "/outbox", "#outbox-path")
    out = tmp_path / "outbox.tar"
    driver.find_element(By.ID, "outbox-path").send_keys(str(out))
    driver.find_element(By.ID, "export-outbox").click()
    support.wait_for_page(driver, "/outbox", ".notice")
    shot(driver, "outbox")
    with tarfile.open(out) as bundle:
        assert sum(name.endswith(".age") for name in bundle.getnames()) == 1

    driver.find_element(By.LINK_TEXT, "Dashboard").click()
    support.wait_for_page(driver, "/dashboard", "#custody-state")
    assert "Custody log verified" in driver.find_element(By.ID, "custody-state").text
    shot(driver, "dashboard")

    driver.find_element(By.ID, "lock").click()
    support.wait_for_page(driver, "/lock", "main h1")
    driver.get(url.split("/?")[0] + "/")
    support.wait_for_page(driver, "/unlock", "#passphrase")
    shot(driver, "locked")


def test_a_session_with_javascript_plays_and_seeks_the_video(
    session_station: Evidence, session_url: str, drivers: list[WebDriver], tmp_path: Path
) -> None:
    if "mp4" not in session_station.ids:
        pytest.skip("ffmpeg is not installed: no video samples")
    url = session_url
    driver = chromium(tmp_path / "profile-on", javascript=True)
    drivers.append(driver)
    unlock(driver, url)
    open_item(driver, session_station.ids["mp4"])
    video = driver.find_element(By.ID, "video")
    driver.execute_script("arguments[0].muted = true; arguments[0].play();", video)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return arguments[0].currentTime", video) > 0.2
    )
    driver.execute_script("arguments[0].currentTime = 1.5;", video)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return !arguments[0].seeking && arguments[0].currentTime >= 1.5", video)
    )
    assert driver.execute_script("return arguments[0].error", video) is None
    time.sleep(0.3)  # let a frame paint for the screenshot
    shot(driver, "video")

    bundle = a_new_bundle(session_station, tmp_path)
    driver.find_element(By.LINK_TEXT, "Import").click()
    support.wait_for_page(driver, "/import", "#import-file")
    driver.find_element(By.ID, "import-file").send_keys(str(bundle))
    driver.find_element(By.ID, "import-upload").click()  # the script posts it, with a progress bar
    support.wait_for_page(driver, "/", ".notice", timeout=60)
    assert "Imported 1 item(s)" in driver.find_element(By.CSS_SELECTOR, ".notice").text
    shot(driver, "uploaded")
    driver.find_element(By.ID, "lock").click()
    support.wait_for_page(driver, "/lock", "main h1")
