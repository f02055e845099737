"""Looking at evidence safely: derivatives rendered in the sandbox, and plaintext ranges for players.

Hostile bytes never reach a browser's image, PDF or HTML parser. Images, PDF pages and video
posters are rendered by the sandboxed worker (review/media.py render) from a private copy that is
removed afterwards, and only the rendered PNG/JPEG comes back, in memory. Audio and video the probe
identified as a playable container are streamed as plaintext ranges, decrypting only the STREAM
chunks a range needs (crypto.open_seekable); nothing is written to disk. Viewing records no custody
event here: the caller decides what counts as an opening.

Warning: byte_range yields the source's plaintext; never log or store it.
"""

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from crypto import CryptoError, SeekableEnvelope, open_chunks, open_seekable
from review import items, media
from review.errors import PreviewUnavailable, RangeNotSatisfiable
from review.models import Item
from review.station import Keys, Station
from review.vault import Vault, private_copy

MAX_SIDE = 1600
THUMBNAIL_SIDE = 240
POSTER_SIDE = 1280
MAX_PAGE_SIDE = 4000
# A poster needs a video's index and its first frames, which sit at its two ends: a large video is
# copied as a sparse file of its first and last POSTER_EDGE bytes (holes between), so a poster of
# a 2 GiB video decrypts 64 MiB, not 2 GiB. When that is not enough, the whole file is copied.
POSTER_EDGE = 32 * 1024 * 1024
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"}
)  # what the worker's Pillow opens (probe_worker.SAFE_IMAGE_FORMATS)
# The sniffed type -> (ffprobe's name for the container, the type with video, the type without).
PLAYABLE = {
    "video/mp4": ("mov,mp4,m4a,3gp,3g2,mj2", "video/mp4", "audio/mp4"),
    "video/quicktime": ("mov,mp4,m4a,3gp,3g2,mj2", "video/mp4", "audio/mp4"),
    "video/webm": ("matroska,webm", "video/webm", "audio/webm"),
    "application/ogg": ("ogg", "video/ogg", "audio/ogg"),
    "audio/mpeg": ("mp3", None, "audio/mpeg"),
    "audio/wav": ("wav", None, "audio/wav"),
}


@dataclass(frozen=True)
class Rendered:
    """Bytes the sandbox made, ready to send: PNG or JPEG, no metadata of the original."""

    media_type: str
    data: bytes


def _showable(item: Item) -> bool:
    return item.kind == "file" and item.status != "undecryptable" and item.size is not None


def playable_type(item: Item) -> str | None:
    """The media type a player may be given, only for containers the sandboxed probe identified."""
    if not _showable(item) or item.probe_status != "ok":
        return None
    facts = items.media_facts(item)
    known = PLAYABLE.get(str(facts.get("media_type")))
    if known is None or not facts.get("duration"):
        return None
    container, with_video, without_video = known
    if facts.get("container", container) != container:
        return None  # the bytes look like one container, ffprobe read another
    return with_video if with_video and facts.get("width") else without_video


def viewable(item: Item) -> str:
    """How the station shows an item: "image", "pdf", "video", "audio", or "none" (extract only)."""
    if not _showable(item):
        return "none"
    media_type = items.media_facts(item).get("media_type")
    if media_type in IMAGE_TYPES and item.probe_status == "ok":
        return "image"
    if media_type == "application/pdf":
        return "pdf"
    playable = playable_type(item)
    return playable.split("/")[0] if playable else "none"


def content_size(item: Item) -> int:
    """The plaintext size recorded at import."""
    if item.size is None:
        raise PreviewUnavailable(f"item {item.id} has no content to show")
    return item.size


def _viewable_item(db: Session, item_id: int, kinds: tuple[str, ...]) -> Item:
    item = items.get_item(db, item_id)
    if viewable(item) not in kinds:
        raise PreviewUnavailable(f"item {item.id} cannot be shown here: extract it to look at it")
    return item


@contextlib.contextmanager
def _sandbox_copy(station: Station, keys: Keys, item: Item) -> Iterator[Path]:
    """The item's plaintext in a private temporary file, checked against its import hash, then removed."""
    with private_copy() as (copy, path):
        digest = hashlib.sha256()
        try:
            with Vault(station.vault_dir).open(item.envelope_sha256) as src:
                for chunk in open_chunks(src, [keys.identity]):
                    digest.update(chunk)
                    copy.write(chunk)
        except CryptoError as error:
            raise PreviewUnavailable(f"item {item.id} does not open: {error}") from None
        copy.close()
        if digest.hexdigest() != item.content_sha256:
            raise PreviewUnavailable(f"item {item.id} no longer matches the hash recorded at import")
        yield path


@contextlib.contextmanager
def _sparse_copy(station: Station, keys: Keys, item: Item, edge: int) -> Iterator[Path]:
    """The first and last `edge` bytes of the plaintext at their places in a private sparse file.

    Each chunk read is authenticated (the envelope verified whole at import), not the whole file.
    """
    size = content_size(item)
    with private_copy() as (copy, path), Vault(station.vault_dir).open(item.envelope_sha256) as src:
        opened = _seekable(keys, item, src)
        copy.truncate(size)
        try:
            for start, stop in ((0, edge), (size - edge, size)):
                copy.seek(start)
                for piece in opened.read_range(start, stop):
                    copy.write(piece)
        except CryptoError as error:
            raise PreviewUnavailable(f"a chunk of item {item.id} does not verify: {error}") from None
        copy.close()
        yield path


def _render(station: Station, keys: Keys, item: Item, operation: str, side: int, page: int = 1) -> Rendered:
    with _sandbox_copy(station, keys, item) as path:
        data = media.render(operation, path, side, page)
    return Rendered(media.rendered_type(data), data)


def _poster(station: Station, keys: Keys, item: Item, side: int) -> Rendered:
    if content_size(item) > 2 * POSTER_EDGE:
        with contextlib.suppress(PreviewUnavailable), _sparse_copy(station, keys, item, POSTER_EDGE) as path:
            data = media.render("poster", path, side)
            return Rendered(media.rendered_type(data), data)
    return _render(station, keys, item, "poster", side)


def _side(max_side: int) -> int:
    if not 16 <= max_side <= MAX_PAGE_SIDE:
        raise PreviewUnavailable(f"an image side must be between 16 and {MAX_PAGE_SIDE} pixels")
    return max_side


def image(station: Station, keys: Keys, db: Session, item_id: int, max_side: int = MAX_SIDE) -> Rendered:
    """The image re-encoded in the sandbox: upright, at most max_side, no EXIF/GPS/ICC/XMP."""
    item = _viewable_item(db, item_id, ("image",))
    return _render(station, keys, item, "image", _side(max_side))


def pdf_page_count(station: Station, keys: Keys, db: Session, item_id: int) -> int:
    item = _viewable_item(db, item_id, ("pdf",))
    with _sandbox_copy(station, keys, item) as path:
        output = media.render("pdf-pages", path, 0)
    try:
        pages = json.loads(output)["pages"]
    except (ValueError, KeyError, TypeError):
        raise PreviewUnavailable(f"item {item.id}: the sandbox gave no page count") from None
    if not isinstance(pages, int) or pages < 1:
        raise PreviewUnavailable(f"item {item.id} has no pages")
    return pages


def pdf_page(
    station: Station, keys: Keys, db: Session, item_id: int, page: int, max_side: int = MAX_SIDE
) -> Rendered:
    """Page `page` (from 1) drawn by poppler in the sandbox; a page past the end is refused."""
    item = _viewable_item(db, item_id, ("pdf",))
    if page < 1:
        raise PreviewUnavailable("pages are numbered from 1")
    return _render(station, keys, item, "pdf-page", _side(max_side), page)


def poster(station: Station, keys: Keys, db: Session, item_id: int, max_side: int = POSTER_SIDE) -> Rendered:
    """A typical early frame of the video, taken by ffmpeg in the sandbox (see POSTER_EDGE)."""
    item = _viewable_item(db, item_id, ("video",))
    return _poster(station, keys, item, _side(max_side))


def thumbnail(station: Station, keys: Keys, db: Session, item_id: int) -> Rendered:
    """240 px: an image's derivative, a PDF's first page, a video's poster."""
    kind = viewable(_viewable_item(db, item_id, ("image", "pdf", "video")))
    if kind == "image":
        return image(station, keys, db, item_id, THUMBNAIL_SIDE)
    if kind == "pdf":
        return pdf_page(station, keys, db, item_id, 1, THUMBNAIL_SIDE)
    return poster(station, keys, db, item_id, THUMBNAIL_SIDE)


def byte_range(station: Station, keys: Keys, item: Item, start: int, end: int) -> Iterator[bytes]:
    """Plaintext bytes start..end inclusive (as HTTP Range counts), decrypting only the chunks needed.

    The header is verified before this returns, so errors come before the first byte is sent;
    RangeNotSatisfiable for a range outside the content. Warning: yields plaintext.
    """
    if playable_type(item) is None:
        raise PreviewUnavailable(f"item {item.id} is not audio or video the station plays")
    size = content_size(item)
    if not 0 <= start <= end < size:
        raise RangeNotSatisfiable(f"bytes {start}-{end} are outside item {item.id} ({size} bytes)")
    src = Vault(station.vault_dir).open(item.envelope_sha256)
    try:
        opened = _seekable(keys, item, src)
    except PreviewUnavailable:
        src.close()
        raise
    return _Pieces(item.id, src, opened.read_range(start, end + 1))


def _seekable(keys: Keys, item: Item, src: BinaryIO) -> SeekableEnvelope:
    """The vault file opened for ranges, refused when it does not open or lost the import's size."""
    try:
        opened = open_seekable(src, [keys.identity])
    except CryptoError as error:
        raise PreviewUnavailable(f"item {item.id} does not open: {error}") from None
    if opened.size != content_size(item):
        raise PreviewUnavailable(f"item {item.id} no longer matches the size recorded at import")
    return opened


class _Pieces:
    """The plaintext pieces of one range; close() (a WSGI server calls it) closes the vault file,
    also when the body was never read. A bad chunk ends the stream with PreviewUnavailable."""

    def __init__(self, item_id: int, src: BinaryIO, pieces: Iterator[bytes]) -> None:
        self._item_id = item_id
        self._src = src
        self._pieces = pieces

    def __iter__(self) -> "_Pieces":
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._pieces)
        except StopIteration:
            self.close()
            raise
        except CryptoError as error:
            self.close()
            raise PreviewUnavailable(f"a chunk of item {self._item_id} does not verify: {error}") from None

    def close(self) -> None:
        self._src.close()
