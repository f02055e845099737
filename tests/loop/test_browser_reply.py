"""Monday to Tuesday in a real headless Chromium with JavaScript OFF, against a real gunicorn.

The source submits through the browser; the operator and the reviewers run both CLIs against the
live server's data directory (export, import, reply, export-outbox, import-replies); then, in a
fresh browser profile, the source logs in with the codename, reads the reviewer's question, deletes
it with the page's button, and the page no longer shows it. The browser is driven with element
finds, typing and clicks only (never execute_script). Screenshot: test-artifacts/replies.png.
"""

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from crypto import CryptoError, open_bytes
from tests.support import live
from tests.support.browser import ARTIFACTS, Browsers, assert_javascript_is_off, main_text, wait_for_page
from tests.support.intake import Intake, deliver
from tests.support.station import Station, assert_ok, last_token

pytestmark = pytest.mark.browser

MESSAGE = "Carousel voting at polling station 1142 from 14:20; the observers were sent outside."
QUESTION = "Which polling station was this, and did you see the carousel voters arrive by bus?"


@contextlib.contextmanager
def serving(base: Path, station: Station) -> Iterator[live.LiveIntake]:
    """`tamga-intake init` sealing to the station and pinning its key, then `tamga-intake serve`."""
    base.mkdir(parents=True, exist_ok=True)
    data_dir, tmpdir, log_path = base / "data", base / "tmp", base / "server.log"
    tmpdir.mkdir(mode=0o700)
    env = live._server_env(tmpdir, None, None)
    subprocess.run(
        [
            str(live.TAMGA_INTAKE),
            "init",
            "--data-dir",
            str(data_dir),
            "--recipient",
            last_token(station.ok("pubkey")),
            "--station-key",
            station.signing_key(),
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    process, port = live._start(data_dir, env, log_path)
    try:
        yield live.LiveIntake(
            base_url=f"http://{live.HOST}:{port}",
            port=port,
            data_dir=data_dir,
            reviewer=station.keys().identity,
            tmpdir=tmpdir,
            pid=process.pid,
            log_path=log_path,
            process=process,
        )
    finally:
        live.stop(process)


@pytest.fixture
def new_browser(tmp_path: Path) -> Iterator[Callable[[], WebDriver]]:
    """Headless Chromiums, each with a fresh profile and JavaScript disabled; all quit afterwards."""
    browsers = Browsers(tmp_path)
    yield browsers.start
    browsers.quit_all()


def test_a_source_reads_the_reviewers_question_and_deletes_it_without_javascript(
    tmp_path: Path, station: Station, new_browser: Callable[[], WebDriver]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(tmp_path / "live", station) as server:
        url = server.base_url

        # Monday: the source's first visit, in the browser.
        driver = new_browser()
        assert_javascript_is_off(driver)
        driver.get(url + "/")
        driver.find_element(By.XPATH, "//form[@action='/codename']//button[@type='submit']").click()
        wait_for_page(driver, "/codename", "#codename", base_url=url)
        codename = driver.find_element(By.ID, "codename").text.strip()
        driver.find_element(By.PARTIAL_LINK_TEXT, "continue").click()
        wait_for_page(driver, "/submit", "form[action='/submit'] textarea#message", base_url=url)
        driver.find_element(By.ID, "message").send_keys(MESSAGE)
        driver.find_element(By.XPATH, "//form[@action='/submit']//button[@type='submit']").click()
        wait_for_page(driver, "/thanks", "h1", base_url=url)
        ((source_id,),) = server.query("SELECT source_id FROM submissions")
        ((envelope, kind),) = server.query("SELECT storage_name, kind FROM envelopes")
        assert kind == "message"
        assert server.open_envelope(str(envelope)).decode("utf-8") == MESSAGE
        assert server.stored_names() == {envelope}

        # The operator and the reviewers, with both CLIs, against the live data directory.
        intake = Intake(server.data_dir)
        assert_ok(station.run("trust-server", intake.server_key()))
        assert deliver(station, intake, tmp_path / "tamga.tar") == 1
        station.reply(station.item_of(str(source_id)), QUESTION)
        assert station.export_outbox(tmp_path / "outbox.tar") == (1, 1)
        result = assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
        assert "1 reply(ies) stored, 1 envelope(s) acknowledged and deleted" in result.stdout
        assert envelope not in server.stored_names()
        ((reply_id, reply_file),) = server.query("SELECT id, storage_name FROM replies")
        assert server.stored_names() == {reply_file}
        for path in server.data_dir.rglob("*"):
            if path.is_file():
                assert QUESTION.encode() not in path.read_bytes(), f"the question is readable in {path}"
        with pytest.raises(CryptoError):  # the reviewers' key cannot open a reply
            open_bytes((server.store_dir / str(reply_file)).read_bytes(), [server.reviewer])

        # Tuesday, another profile: log in, read the question.
        driver = new_browser()
        assert_javascript_is_off(driver)
        driver.get(url + "/")
        driver.find_element(By.ID, "codename-input").send_keys(codename)
        driver.find_element(By.XPATH, "//form[@action='/login']//button[@type='submit']").click()
        wait_for_page(driver, ("/login", "/submit"), "section.replies", base_url=url)
        shown = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "li.reply .reply-text")]
        assert shown == [QUESTION]
        days = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "ul.days li")]
        assert len(days) == 1 and days[0].endswith("reached the reviewers"), days
        driver.save_screenshot(str(ARTIFACTS / "replies.png"))

        # Delete it with the page's own button (a form POST with its CSRF token; no script).
        button = driver.find_element(
            By.XPATH, f"//form[@action='/replies/{reply_id}/delete']//button[@type='submit']"
        )
        assert button.text == "Delete this reply"
        button.click()
        wait_for_page(driver, "/submit?deleted=1", "section.replies p.notice", base_url=url)
        text = main_text(driver)
        assert "The reply was deleted." in text
        assert QUESTION not in text
        assert "There are no replies yet." in text
        assert driver.find_elements(By.CSS_SELECTOR, "li.reply") == []
        driver.save_screenshot(str(ARTIFACTS / "replies-deleted.png"))
        assert reply_file not in server.stored_names()
        assert server.query("SELECT deleted, storage_name FROM replies") == [(1, None)]

        # Logging in again shows no reply at all.
        driver.get(url + "/")
        driver.find_element(By.ID, "codename-input").send_keys(codename)
        driver.find_element(By.XPATH, "//form[@action='/login']//button[@type='submit']").click()
        wait_for_page(driver, ("/login", "/submit"), "section.replies", base_url=url)
        assert driver.find_elements(By.CSS_SELECTOR, "li.reply") == []
        assert QUESTION not in main_text(driver)
