"""A station with imported evidence, and the station's web app on it (Flask's test client).

The evidence: a JPEG with GPS, an MP4 and a WebM video (when ffmpeg is present), a two-page PDF,
an HTML file with a script, and messages; imported once per session through the real intake and
`tamga-review import`; tests that change the catalogue work on a copy.
"""

import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from review.station import Station as ReviewStation
from review.web import Settings, create_app
from tests.support import media_samples as samples
from tests.support.catalogue import Upload, ids_by_label, import_submissions
from tests.support.station import Station
from tests.support.worker import this_trees_worker

PORT = 8765
HOST = f"127.0.0.1:{PORT}"
MESSAGE = "Carousel voting at PS 112: the same bus came back three times <script>alert(1)</script>"
HTML = b"<!doctype html><html><body><script>document.title='ran'</script><p>hostile</p></body></html>"


def pdf(pages: int = 2) -> bytes:
    """A scanned protocol: `pages` pictures in one PDF (Pillow writes it)."""
    out = io.BytesIO()
    first, *rest = [samples.scene(seed=10 + n, size=(420, 594)) for n in range(pages)]
    first.save(out, "PDF", save_all=True, append_images=rest, resolution=72)
    return out.getvalue()


def webm(directory: Path) -> bytes:
    out = directory / "clip.webm"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-y", "-v", "error",
            "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=10",
            "-c:v", "libvpx", "-b:v", "200k", str(out),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    data = out.read_bytes()
    out.unlink()
    return data


@pytest.fixture(scope="session", autouse=True)
def sandbox_of_this_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """This tree's sandbox worker for the whole session: the import below probes too."""
    with this_trees_worker(tmp_path_factory.mktemp("sandbox")):
        yield


@dataclass
class Evidence:
    station: Station
    ids: dict[str, int]
    message: int


def _uploads(work: Path) -> list[Upload]:
    found = [
        Upload("jpeg", samples.exif_jpeg(seed=21), "IMG_2024.JPG", "image/jpeg"),
        Upload("pdf", pdf(), "protocol.pdf", "application/pdf"),
        Upload("html", HTML, "report.html", "text/html"),
    ]
    if samples.have_ffmpeg():
        found += [
            Upload("mp4", samples.mp4(work), "VID_1.mp4", "video/mp4"),
            Upload("webm", webm(work), "VID_2.webm", "video/webm"),
        ]
    return found


@pytest.fixture(scope="session")
def web_evidence(tmp_path_factory: pytest.TempPathFactory, sandbox_of_this_tree: None) -> Evidence:
    work = tmp_path_factory.mktemp("web-evidence")
    station = Station.create(work / "station")
    uploads = _uploads(work)
    import_submissions(station, work, [("", uploads), (MESSAGE, ())])
    message = next(row["id"] for row in station.items() if row["kind"] == "message")
    return Evidence(station, ids_by_label(station, uploads), message)


@pytest.fixture
def evidence(tmp_path: Path, web_evidence: Evidence) -> Evidence:
    """A private copy of the session's station, for a test that changes it."""
    return Evidence(
        web_evidence.station.copy_to(tmp_path / "station"), web_evidence.ids, web_evidence.message
    )


@pytest.fixture
def app(evidence: Evidence) -> Iterator[Flask]:
    made = create_app(ReviewStation(evidence.station.root), Settings(port=PORT))
    made.config["TESTING"] = True
    yield made
    made.extensions["station.sessions"].kw["bind"].dispose()


class Browser:
    """Flask's test client as the one admitted browser, with the CSRF token of the last page read."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers={"Host": HOST, **kwargs.pop("headers", {})}, **kwargs)

    def csrf(self) -> str:
        """The form token from a page with a form: the unlock page, or once unlocked the outbox."""
        response = self.get("/unlock")
        page = (self.get("/outbox") if response.status_code == 303 else response).get_data(as_text=True)
        marker = 'name="csrf_token" value="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]

    def post(self, path: str, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf()
        return self.client.post(
            path, data=form, headers={"Host": HOST, **kwargs.pop("headers", {})}, **kwargs
        )


def admitted(app: Flask) -> Browser:
    client = app.test_client()
    token = app.extensions["station.desk"].token
    response = client.get(f"/?token={token}", headers={"Host": HOST})
    assert response.status_code == 303
    return Browser(client)


@pytest.fixture
def browser(app: Flask) -> Browser:
    """Admitted with the token, still locked."""
    return admitted(app)


@pytest.fixture
def reviewer(browser: Browser) -> Browser:
    """Admitted and unlocked, as reviewer `web-tester`."""
    response = browser.post("/unlock", {"passphrase": Station.PASSPHRASE, "actor": "web-tester"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return browser
