"""The page's seal workers in a real headless Chromium with JavaScript ON, against a real gunicorn:
file contents are sealed by a pool of Web Workers (submission/static/src/pool.js) started from
the page script fetched again with its integrity hash, under the CSP as served; the envelopes
open with the `age` command line to the exact bytes. Without Worker, the page seals on its own
thread and the same envelopes arrive. Page code is watched, not changed: a script added before
the page's own counts the workers and the jobs posted to them."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.submission.test_browser_sealed import (
    UPLOAD_TIMEOUT,
    csp_complaints,
    fill_and_send,
    metadata,
    open_submit_page,
    opened_by_age,
)
from tests.support.browser import Browsers, main_text, wait_for_page
from tests.support.live import LiveIntake
from tests.support.visitor import Visitor
from tests.support.wire import RecordingProxy

pytestmark = pytest.mark.browser

CHUNK = 64 * 1024
MIB = 1024 * 1024
MAX_WORKERS = 4  # submission/static/src/pool.js

# Counts the seal workers and the jobs the page posts to them, in sessionStorage so that the
# confirmation page can tell; a worker is still a real one.
WATCH_WORKERS = """
const count = (name) => sessionStorage.setItem(name, String(Number(sessionStorage.getItem(name)) + 1));
if (typeof Worker === "function") {
  const RealWorker = Worker;
  window.Worker = class extends RealWorker {
    constructor(...args) { super(...args); count("sealWorkers"); }
    postMessage(message, ...rest) { count("sealJobs"); return super.postMessage(message, ...rest); }
  };
}
"""
WATCHED = "return [Number(sessionStorage.getItem('sealWorkers')), Number(sessionStorage.getItem('sealJobs'))]"
MANY_CORES = "Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 64 });"
NO_WORKERS = "delete window.Worker;"


@pytest.fixture
def proxy(live_intake: LiveIntake) -> Iterator[RecordingProxy]:
    with RecordingProxy(live_intake.port) as recording:
        yield recording


def browser_with(browsers: Browsers, *scripts: str) -> WebDriver:
    driver = browsers.start(javascript=True)
    for script in scripts:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})
    return driver


def chosen_files(directory: Path) -> tuple[Path, Path]:
    """A video of several MiB that is not a multiple of 64 KiB, and a scan that is exactly one."""
    directory.mkdir()
    video, scan = directory / "clip.mp4", directory / "protocol.pdf"
    video.write_bytes(os.urandom(5 * MIB + 12345))
    scan.write_bytes(os.urandom(3 * MIB))
    assert video.stat().st_size % CHUNK and not scan.stat().st_size % CHUNK
    return video, scan


def send_and_open(
    driver: WebDriver, live_intake: LiveIntake, proxy: RecordingProxy, tmp_path: Path
) -> tuple[dict[tuple[int, str], bytes], Path, Path]:
    video, scan = chosen_files(tmp_path / "chosen")
    open_submit_page(driver, proxy.base_url)
    before = live_intake.submission_count()
    fill_and_send(driver, "Два файла.", (video, scan))
    wait_for_page(driver, "/thanks", "h1", timeout=UPLOAD_TIMEOUT)
    assert "your submission was received" in main_text(driver)
    assert live_intake.submission_count() == before + 1
    assert csp_complaints(driver) == []
    assert b"POST /submit " not in proxy.sent(), "the page sealed and uploaded with tus"
    return opened_by_age(live_intake, tmp_path), video, scan


def assert_whole(opened: dict[tuple[int, str], bytes], video: Path, scan: Path) -> None:
    assert opened == {
        (0, "message"): "Два файла.".encode(),
        (1, "file-metadata"): metadata("clip.mp4", "video/mp4"),
        (1, "file-content"): video.read_bytes(),
        (2, "file-metadata"): metadata("protocol.pdf", "application/pdf"),
        (2, "file-content"): scan.read_bytes(),
    }


def test_seal_workers_seal_the_files_and_age_opens_them(
    live_intake: LiveIntake, browsers: Browsers, proxy: RecordingProxy, tmp_path: Path
) -> None:
    driver = browser_with(browsers, MANY_CORES, WATCH_WORKERS)
    opened, video, scan = send_and_open(driver, live_intake, proxy, tmp_path)
    assert_whole(opened, video, scan)
    workers, jobs = driver.execute_script(WATCHED)
    assert workers == MAX_WORKERS, "one worker per core, capped"
    assert jobs == -(-video.stat().st_size // MIB) + scan.stat().st_size // MIB, "every MiB went to a worker"
    assert proxy.sent().count(b"GET /static/intake.js ") == 2, "the page's script, then the workers'"


def test_without_workers_the_page_seals_on_its_own_thread(
    live_intake: LiveIntake, browsers: Browsers, proxy: RecordingProxy, tmp_path: Path
) -> None:
    driver = browser_with(browsers, NO_WORKERS, WATCH_WORKERS)
    opened, video, scan = send_and_open(driver, live_intake, proxy, tmp_path)
    assert_whole(opened, video, scan)
    assert driver.execute_script(WATCHED) == [0, 0]
    assert proxy.sent().count(b"GET /static/intake.js ") == 1, "no script fetched for workers"


def test_the_csp_as_served_lets_workers_start_only_from_blobs(live_intake: LiveIntake) -> None:
    visitor = Visitor(live_intake)
    visitor.new_source()
    response = visitor.request("GET", "/submit", None, {})
    csp = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["worker-src"] == ["blob:"]
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert "unsafe" not in csp and "*" not in csp and "data:" not in csp
