"""Headless Chromium with JavaScript OFF (as Tor Browser at "Safest"), through selenium; the
browser-sealing tests start it with JavaScript on (`javascript=True`, as at "Standard"/"Safer").

Tests drive it with element finds, typing and clicks only (never execute_script). Each browser
gets a fresh profile; screenshots go to test-artifacts/ (gitignored).
"""

from pathlib import Path
from urllib.parse import quote

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--window-size=1200,1400",
)
NO_SCRIPT_FLAG = "--blink-settings=scriptEnabled=false"


def chromium(
    profile: Path,
    lang: str = "en-US",
    accept_languages: str = "en-US,en",
    javascript: bool = False,
    extra_flags: tuple[str, ...] = (),
) -> WebDriver:
    """A headless Chromium on the profile directory `profile`, JavaScript off unless `javascript`,
    asking for `lang`; with JavaScript on, the console log is kept (CSP violations, errors)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra_flags) if javascript else (*FLAGS, *extra_flags, NO_SCRIPT_FLAG):
        options.add_argument(flag)
    options.add_argument(f"--lang={lang}")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option(
        "prefs",
        {
            "profile.managed_default_content_settings.javascript": 1 if javascript else 2,
            "intl.accept_languages": accept_languages,
        },
    )
    if javascript:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
    except BaseException:
        driver.quit()
        raise
    return driver


class Browsers:
    """Headless Chromiums, each with a fresh profile under `directory`; a fixture quits them all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: list[WebDriver] = []
        self.started = 0

    def start(
        self, lang: str = "en-US", accept_languages: str = "en-US,en", javascript: bool = False
    ) -> WebDriver:
        self.started += 1
        driver = chromium(self.directory / f"profile-{self.started}", lang, accept_languages, javascript)
        self.running.append(driver)
        return driver

    def quit(self, driver: WebDriver) -> None:
        self.running.remove(driver)
        driver.quit()

    def quit_all(self) -> None:
        while self.running:
            self.quit(self.running[-1])


def assert_javascript_is_off(driver: WebDriver) -> None:
    """A page whose script would rename it, and whose <noscript> shows only without JavaScript."""
    page = (
        "<!doctype html><title>static</title>"
        "<script>document.title = 'scripted'; document.write('<p id=ran>ran</p>')</script>"
        "<noscript><p id='noscript'>no script</p></noscript>"
    )
    driver.get("data:text/html;charset=utf-8," + quote(page))
    assert driver.title == "static"
    assert driver.find_element(By.ID, "noscript").is_displayed()
    assert driver.find_elements(By.ID, "ran") == []


def main_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def origin(driver: WebDriver) -> str:
    """Scheme and host of the page the browser is at, e.g. http://127.0.0.1:8000."""
    return "/".join(driver.current_url.split("/", 3)[:3])


def wait_for_page(
    driver: WebDriver,
    paths: str | tuple[str, ...] | None,
    css: str,
    base_url: str | None = None,
    timeout: float = 30,
) -> None:
    """Wait until the browser is at one of `paths` and shows an element matching `css` (no script
    needed). The paths are on `base_url`, or by default on the origin the browser is at. None:
    any path, for a page whose path is known only once there (a new item's); the browser's URL
    read just after a click is still the old page's."""
    paths = (paths,) if isinstance(paths, str) else paths

    def arrived(d: WebDriver) -> bool:
        base = origin(d) if base_url is None else base_url
        here = paths is None or d.current_url in {base + path for path in paths}
        return here and bool(d.find_elements(By.CSS_SELECTOR, css))

    try:
        WebDriverWait(driver, timeout).until(arrived)
    except TimeoutException:
        raise AssertionError(
            f"waited for {paths} ({css}); at {driver.current_url}: {main_text(driver)!r}"
        ) from None
