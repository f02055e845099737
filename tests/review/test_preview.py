"""Looking at evidence safely (review/preview.py): derivatives from the sandbox, ranges for players.

One station imports, through the intake and `tamga-review import`, a camera JPEG with GPS, an MP4
and a WebM video, a WAV recording, a two-page PDF, an HTML page with a script and a message; the
tests then call the library as the station's web UI does.

The sandbox worker is this tree's (tests/support/worker.py), not the installed package's.
"""

import io
import os
import shutil
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from review import media, preview
from review.errors import PreviewUnavailable, RangeNotSatisfiable
from review.models import Item
from review.station import Keys
from review.station import Station as ReviewStation
from tests.support import media_samples as samples
from tests.support.intake import make_intake, pin
from tests.support.station import Station
from tests.support.worker import this_trees_worker

needs_ffmpeg = pytest.mark.skipif(not samples.have_ffmpeg(), reason="ffmpeg is not installed")
needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils is not installed")
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
MESSAGE = "The protocol was rewritten after the count."


def webm(directory: Path) -> bytes:
    out = directory / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i",
         "testsrc=duration=2:size=320x240:rate=10", "-c:v", "libvpx", "-b:v", "200k", str(out)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def long_mp4(directory: Path) -> bytes:
    """30 s of a test pattern: its first frames at the start, its index (moov) at the end."""
    out = directory / "long.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i",
         "testsrc=duration=30:size=320x240:rate=10", "-pix_fmt", "yuv420p", str(out)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(bytes(2 * 8000 * 10))  # 10 s: three STREAM chunks
    return out.getvalue()


def pdf() -> bytes:
    pages = []
    for number, colour in ((1, "white"), (2, "red")):
        page = Image.new("RGB", (600, 800), colour)
        ImageDraw.Draw(page).text((50, 50), f"PROTOCOL page {number}", fill="black")
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:])
    return out.getvalue()


@pytest.fixture(scope="module", autouse=True)
def worker_of_this_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with this_trees_worker(tmp_path_factory.mktemp("worker")):
        yield


@dataclass
class Viewing:
    station: ReviewStation
    keys: Keys
    db: Session
    ids: dict[str, int]
    content: dict[str, bytes]

    def item(self, label: str) -> Item:
        found = self.db.get(Item, self.ids[label])
        assert found is not None
        return found


@pytest.fixture(scope="module")
def viewing(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Iterator[Viewing]:
    workdir = tmp_path_factory.mktemp("viewing")
    station = station_template.copy_to(workdir / "station")
    intake = make_intake(workdir / "intake", [station.recipient])
    pin(station, intake)
    content = {"photo": samples.exif_jpeg(), "pdf": pdf(), "html": HTML, "wav": wav()}
    if samples.have_ffmpeg():
        content["mp4"] = samples.mp4(workdir)
        content["webm"] = webm(workdir)
        content["long"] = long_mp4(workdir)
    names = {"photo": "IMG_0001.JPG", "pdf": "protocol.pdf", "html": "page.html", "wav": "note.wav"}
    names |= {"mp4": "clip.mp4", "webm": "clip.webm", "long": "long.mp4"}
    intake.submit(
        MESSAGE, [(data, names[label], "application/octet-stream") for label, data in content.items()]
    )
    ((bundle, _),) = intake.export_ok(workdir / "out")
    intake.close()
    station.ok("import", bundle)
    by_hash = {row["sha256"]: row["id"] for row in station.items()}
    ids = {label: by_hash[preview_hash(data)] for label, data in content.items()}
    ids["message"] = next(row["id"] for row in station.items() if row["kind"] == "message")
    review = ReviewStation(station.root)
    db = review.sessions()()
    yield Viewing(review, review.unlock(lambda: Station.PASSPHRASE), db, ids, content)
    db.close()


def preview_hash(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _decoded(rendered: preview.Rendered) -> Image.Image:
    image = Image.open(io.BytesIO(rendered.data))
    assert image.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[rendered.media_type]
    image.load()
    return image


def test_each_item_is_shown_as_its_kind_or_not_at_all(viewing: Viewing) -> None:
    expected = {"photo": "image", "pdf": "pdf", "html": "none", "message": "none", "wav": "audio"}
    if "mp4" in viewing.ids:
        expected |= {"mp4": "video", "webm": "video", "long": "video"}
    assert {label: preview.viewable(viewing.item(label)) for label in expected} == expected


@needs_ffmpeg
def test_players_get_only_the_containers_the_probe_identified(viewing: Viewing) -> None:
    assert preview.playable_type(viewing.item("mp4")) == "video/mp4"
    assert preview.playable_type(viewing.item("webm")) == "video/webm"
    assert preview.playable_type(viewing.item("wav")) == "audio/wav"
    for label in ("photo", "pdf", "html", "message"):
        assert preview.playable_type(viewing.item(label)) is None


def test_a_container_ffprobe_read_as_another_is_not_played(viewing: Viewing) -> None:
    item = viewing.item("wav")
    disguised = Item(**{c: getattr(item, c) for c in ("id", "kind", "status", "size", "probe_status")})
    disguised.media = item.media.replace('"container": "wav"', '"container": "mp3"') if item.media else None
    assert preview.playable_type(disguised) is None


def test_the_image_derivative_is_fresh_pixels_without_metadata(viewing: Viewing) -> None:
    original = Image.open(io.BytesIO(viewing.content["photo"]))
    assert original.getexif(), "the sample carries EXIF and GPS"
    rendered = preview.image(viewing.station, viewing.keys, viewing.db, viewing.ids["photo"])
    assert rendered.data != viewing.content["photo"]
    image = _decoded(rendered)
    assert image.size == original.size  # 640x480 fits in 1600
    assert not image.getexif()
    assert not set(image.info) & {"exif", "icc_profile", "xmp", "comment"}
    assert samples.DEVICE_SERIAL.encode() not in rendered.data
    assert samples.OWNER_NAME.encode() not in rendered.data


def test_the_derivative_is_bounded_and_a_thumbnail_is_240px(viewing: Viewing) -> None:
    small = preview.image(viewing.station, viewing.keys, viewing.db, viewing.ids["photo"], max_side=100)
    assert max(_decoded(small).size) == 100
    thumb = preview.thumbnail(viewing.station, viewing.keys, viewing.db, viewing.ids["photo"])
    assert _decoded(thumb).size == (240, 180)


@needs_poppler
def test_pdf_pages_are_rendered_images(viewing: Viewing) -> None:
    args = (viewing.station, viewing.keys, viewing.db, viewing.ids["pdf"])
    assert preview.pdf_page_count(*args) == 2
    first, second = (_decoded(preview.pdf_page(*args, page)) for page in (1, 2))
    assert max(first.size) == preview.MAX_SIDE
    assert first.convert("RGB").getpixel((first.width // 2, first.height - 5)) == (255, 255, 255)
    red = second.convert("RGB").getpixel((second.width // 2, second.height - 5))
    assert red[0] > 200 and red[1] < 50
    assert max(_decoded(preview.thumbnail(*args)).size) == preview.THUMBNAIL_SIDE
    with pytest.raises(PreviewUnavailable, match="could not render"):
        preview.pdf_page(*args, 3)
    with pytest.raises(PreviewUnavailable, match="numbered from 1"):
        preview.pdf_page(*args, 0)


@needs_ffmpeg
@pytest.mark.parametrize("label", ["mp4", "webm"])
def test_a_video_poster_is_a_frame_from_the_sandbox(viewing: Viewing, label: str) -> None:
    args = (viewing.station, viewing.keys, viewing.db, viewing.ids[label])
    assert _decoded(preview.poster(*args)).size == (320, 240)
    assert _decoded(preview.thumbnail(*args)).size == (240, 180)


EDGE = 16 * 1024  # enough for long.mp4's first frames and its index


class RenderSpy:
    """Wraps media.render: records how much of each private copy is really on disk."""

    def __init__(self, fail_first: bool = False) -> None:
        self.copies: list[tuple[int, int]] = []  # (bytes allocated, file size)
        self.fail_first = fail_first
        self._real = media.render

    def __call__(self, operation: str, path: Path, *args: int) -> bytes:
        stat = path.stat()
        self.copies.append((stat.st_blocks * 512, stat.st_size))
        if self.fail_first and len(self.copies) == 1:
            raise PreviewUnavailable("the sandbox could not render this file (failed (1))")
        return self._real(operation, path, *args)


@needs_ffmpeg
def test_a_large_video_poster_decrypts_only_its_two_ends(
    viewing: Viewing, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = RenderSpy()
    monkeypatch.setattr(media, "render", spy)
    monkeypatch.setattr(preview, "POSTER_EDGE", EDGE)
    poster = preview.poster(viewing.station, viewing.keys, viewing.db, viewing.ids["long"])
    assert _decoded(poster).size == (320, 240)
    ((allocated, size),) = spy.copies
    assert size == len(viewing.content["long"]) > 4 * EDGE
    assert allocated <= 2 * EDGE + 8192, "the middle of the video was written"


@needs_ffmpeg
def test_when_the_two_ends_are_not_enough_the_whole_video_is_copied(
    viewing: Viewing, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = RenderSpy(fail_first=True)
    monkeypatch.setattr(media, "render", spy)
    monkeypatch.setattr(preview, "POSTER_EDGE", EDGE)
    poster = preview.poster(viewing.station, viewing.keys, viewing.db, viewing.ids["long"])
    assert _decoded(poster).size == (320, 240)
    (sparse, _), (whole, size) = spy.copies
    assert sparse < size // 2 and whole >= size


@pytest.mark.parametrize("label", ["html", "message"])
def test_what_is_never_rendered_is_refused(viewing: Viewing, label: str) -> None:
    args = (viewing.station, viewing.keys, viewing.db, viewing.ids[label])
    for render in (preview.image, preview.thumbnail, preview.pdf_page_count, preview.poster):
        with pytest.raises(PreviewUnavailable, match="cannot be shown here: extract it"):
            render(*args)
    with pytest.raises(PreviewUnavailable, match="not audio or video"):
        preview.byte_range(viewing.station, viewing.keys, viewing.item(label), 0, 0)


def test_a_renderer_that_fails_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "evidence"
    path.write_bytes(samples.bomb_png(20_000, 20_000))
    with pytest.raises(
        PreviewUnavailable, match=r"^the sandbox could not render this file \(failed \(1\)\)$"
    ):
        media.render("image", path, 240)


def test_a_missing_tool_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media.shutil, "which", lambda name: None)
    with pytest.raises(PreviewUnavailable, match=r"^pdftoppm is not installed on this station$"):
        media.render("pdf-page", tmp_path / "evidence", 240)


def test_viewing_leaves_no_plaintext_behind(
    viewing: Viewing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir(mode=0o700)
    monkeypatch.setattr("tempfile.tempdir", str(private_tmp))
    preview.image(viewing.station, viewing.keys, viewing.db, viewing.ids["photo"])
    with pytest.raises(PreviewUnavailable):
        preview.image(viewing.station, viewing.keys, viewing.db, viewing.ids["html"])
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("label", ["wav", pytest.param("mp4", marks=needs_ffmpeg)])
def test_byte_ranges_are_the_plaintext_slices(viewing: Viewing, label: str) -> None:
    item = viewing.item(label)
    data = viewing.content[label]
    assert preview.content_size(item) == len(data)
    last = len(data) - 1
    chunk = 64 * 1024
    for start, end in ((0, 0), (0, last), (last, last), (1, min(chunk, last)), (last // 2, last)):
        got = b"".join(preview.byte_range(viewing.station, viewing.keys, item, start, end))
        assert got == data[start : end + 1], (start, end)


def test_a_range_outside_the_content_is_not_satisfiable(viewing: Viewing) -> None:
    item = viewing.item("wav")
    size = preview.content_size(item)
    for start, end in ((0, size), (size, size), (5, 4), (-1, 3)):
        with pytest.raises(RangeNotSatisfiable):
            preview.byte_range(viewing.station, viewing.keys, item, start, end)


def test_a_damaged_vault_file_fails_before_or_at_the_chunk_read(viewing: Viewing, tmp_path: Path) -> None:
    from review.vault import Vault

    item = viewing.item("wav")
    path = Vault(viewing.station.vault_dir).path(item.envelope_sha256)
    original = path.read_bytes()
    try:
        path.chmod(0o600)
        damaged = bytearray(original)
        damaged[-100] ^= 1
        path.write_bytes(bytes(damaged))
        size = preview.content_size(item)
        assert (
            b"".join(preview.byte_range(viewing.station, viewing.keys, item, 0, 9))
            == viewing.content["wav"][:10]
        )
        with pytest.raises(PreviewUnavailable, match="does not verify"):
            b"".join(preview.byte_range(viewing.station, viewing.keys, item, size - 10, size - 1))
        path.write_bytes(original[:-1])
        with pytest.raises(PreviewUnavailable, match=r"no longer matches the size|does not open"):
            preview.byte_range(viewing.station, viewing.keys, item, 0, 0)
    finally:
        path.write_bytes(original)


def test_a_range_never_read_still_closes_its_vault_file(viewing: Viewing) -> None:
    """A WSGI server calls close() on the body even when the client left before it was read."""
    item = viewing.item("wav")

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_files()
    pieces = preview.byte_range(viewing.station, viewing.keys, item, 0, 9)
    assert open_files() == before + 1
    pieces.close()  # type: ignore[attr-defined]
    assert open_files() == before
    read = preview.byte_range(viewing.station, viewing.keys, item, 0, 9)
    assert b"".join(read) == viewing.content["wav"][:10]
    assert open_files() == before, "reading to the end closes the file too"
