"""Looking at evidence safely: derivatives only, ranges for playable media, nothing else served."""

import io

import pytest
from PIL import Image

from tests.review.web.conftest import Browser, Evidence
from tests.support import media_samples as samples


def media_headers_are_neutral(response: object, item_id: int) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox"
    assert headers["Content-Disposition"].startswith(f'inline; filename="item-{item_id}-')


def test_the_jpeg_is_shown_re_encoded_without_its_gps(reviewer: Browser, evidence: Evidence) -> None:
    item_id = evidence.ids["jpeg"]
    page = reviewer.get(f"/item/{item_id}").get_data(as_text=True)
    assert f'src="/item/{item_id}/image"' in page
    assert 'id="identifying"' in page and "GPS position" in page
    response = reviewer.get(f"/item/{item_id}/image")
    assert response.status_code == 200
    media_headers_are_neutral(response, item_id)
    original = evidence.station.root  # the original bytes are never what the browser gets
    picture = Image.open(io.BytesIO(response.data))
    assert picture.format in ("PNG", "JPEG", "WEBP")
    assert not picture.getexif().get_ifd(0x8825), "GPS survived the re-encoding"
    assert samples.DEVICE_SERIAL.encode() not in response.data
    assert original.exists()


def test_pdf_pages_are_images(reviewer: Browser, evidence: Evidence) -> None:
    item_id = evidence.ids["pdf"]
    page = reviewer.get(f"/item/{item_id}").get_data(as_text=True)
    assert f"/item/{item_id}/page/1" in page and f"/item/{item_id}/page/2" in page
    assert f"/item/{item_id}/page/3" not in page
    for number in (1, 2):
        response = reviewer.get(f"/item/{item_id}/page/{number}")
        assert response.status_code == 200
        media_headers_are_neutral(response, item_id)
        assert Image.open(io.BytesIO(response.data)).format in ("PNG", "JPEG", "WEBP")
    assert reviewer.get(f"/item/{item_id}/media").status_code == 404  # never the PDF itself


def test_the_html_file_is_never_served(reviewer: Browser, evidence: Evidence) -> None:
    item_id = evidence.ids["html"]
    page = reviewer.get(f"/item/{item_id}").get_data(as_text=True)
    assert 'id="not-shown"' in page and "<iframe" not in page and "hostile" not in page
    for what in ("media", "image", "thumbnail", "page/1", "poster"):
        response = reviewer.get(f"/item/{item_id}/{what}")
        assert response.status_code == 404, what
        assert b"<script>document.title" not in response.data


@pytest.mark.parametrize("label", ["mp4", "webm"])
def test_video_plays_by_range(reviewer: Browser, evidence: Evidence, label: str) -> None:
    if label not in evidence.ids:
        pytest.skip("ffmpeg is not installed: no video samples")
    item_id = evidence.ids[label]
    original = next(
        u for u in evidence.station.items() if u["id"] == item_id
    )  # the facts: size and type from the probe
    page = reviewer.get(f"/item/{item_id}").get_data(as_text=True)
    assert '<video id="video" controls' in page and f"/item/{item_id}/poster" in page
    size = original["size"]
    whole = reviewer.get(f"/item/{item_id}/media")
    assert whole.status_code == 200 and len(whole.data) == size
    assert whole.headers["Accept-Ranges"] == "bytes"
    media_headers_are_neutral(whole, item_id)
    assert whole.headers["Content-Type"] == f"video/{label}"
    middle = reviewer.get(f"/item/{item_id}/media", headers={"Range": f"bytes={size // 2}-{size // 2 + 999}"})
    assert middle.status_code == 206
    assert middle.headers["Content-Range"] == f"bytes {size // 2}-{size // 2 + 999}/{size}"
    assert middle.data == whole.data[size // 2 : size // 2 + 1000]
    tail = reviewer.get(f"/item/{item_id}/media", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == whole.data[-100:]
    beyond = reviewer.get(f"/item/{item_id}/media", headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    poster = reviewer.get(f"/item/{item_id}/poster")
    assert poster.status_code == 200
    media_headers_are_neutral(poster, item_id)


def test_images_are_not_played_as_media(reviewer: Browser, evidence: Evidence) -> None:
    assert reviewer.get(f"/item/{evidence.ids['jpeg']}/media").status_code == 404


def test_the_message_is_shown_once_opened_as_text(reviewer: Browser, evidence: Evidence) -> None:
    page = reviewer.get(f"/item/{evidence.message}").get_data(as_text=True)
    assert "Carousel voting at PS 112" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    reviewer.get(f"/item/{evidence.message}")
    opened = [e for e in evidence.station.events(f"item:{evidence.message}") if e["action"] == "opened"]
    assert len(opened) == 1 and opened[0]["actor"] == "web-tester"


def test_the_inbox_shows_thumbnails_of_what_can_be_rendered(reviewer: Browser, evidence: Evidence) -> None:
    page = reviewer.get("/").get_data(as_text=True)
    assert f'src="/item/{evidence.ids["jpeg"]}/thumbnail"' in page
    assert f'src="/item/{evidence.ids["html"]}/thumbnail"' not in page
    assert f'src="/item/{evidence.message}/thumbnail"' not in page
    response = reviewer.get(f"/item/{evidence.ids['jpeg']}/thumbnail")
    assert response.status_code == 200
    media_headers_are_neutral(response, evidence.ids["jpeg"])
    assert max(Image.open(io.BytesIO(response.data)).size) <= 240


def test_a_page_past_the_end_is_not_found(reviewer: Browser, evidence: Evidence) -> None:
    response = reviewer.get(f"/item/{evidence.ids['pdf']}/page/9")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
