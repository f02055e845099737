"""Evidence in the browser, safely: only derivatives made in the sandbox, and playable media by range.

Images, PDF pages, thumbnails and posters come from review/preview.py (re-encoded in the sandboxed
worker); video and audio stream from the vault envelope with HTTP Range, decrypting only the chunks
a range needs, and only for containers the probe identified. Nothing else is ever served: HTML,
SVG, office files and archives are "extract to..." only. Every media response says nosniff,
`Content-Security-Policy: sandbox` and a neutral file name.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue

from review import items
from review.errors import ReviewError
from review.models import Item
from review.web import context

bp = Blueprint("viewing", __name__, url_prefix="/item")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
MAX_RANGE = 4 * 1024 * 1024  # an open-ended range gets at most this much per response
MAX_THUMBNAILS = 500  # kept in memory while unlocked (about 10 MB), so the inbox does not re-render
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "video/ogg": "ogv",
}


def _preview() -> Any:
    from review import preview  # the viewer's module (review/preview.py)

    return preview


@dataclass(frozen=True)
class View:
    kind: str  # image | pdf | video | audio | none
    pages: int = 0
    media_type: str | None = None


def thumbnailable(item: Item) -> bool:
    """Whether the inbox shows a thumbnail of the item (no decryption needed to tell)."""
    usable = item.kind == "file" and item.status != "undecryptable"
    return usable and _preview().viewable(item) in ("image", "pdf", "video")


def describe(item: Item) -> View:
    """How the item page shows the item; a PDF's page count is read in the sandbox."""
    if item.kind != "file" or item.status == "undecryptable":
        return View("none")
    preview = _preview()
    kind = preview.viewable(item)
    if kind == "pdf":
        db, keys = context.db(), context.keys()
        try:
            return View("pdf", pages=preview.pdf_page_count(context.station(), keys, db, item.id))
        except ReviewError:  # the sandbox would not read it: the page says so, extract stays
            return View("unavailable")
    if kind in ("video", "audio"):
        return View(kind, media_type=preview.playable_type(item))
    return View(kind)


def _neutral(item_id: int, media_type: str, what: str) -> dict[str, str]:
    name = f"item-{item_id}-{what}.{EXTENSIONS.get(media_type, 'bin')}"
    return {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Content-Disposition": f'inline; filename="{name}"',
        "Cache-Control": "no-store",
    }


def _rendered(item_id: int, what: str, rendered: Any) -> Response:
    media_type = rendered.media_type
    if media_type not in ("image/png", "image/jpeg", "image/webp"):
        abort(404)
    return Response(rendered.data, mimetype=media_type, headers=_neutral(item_id, media_type, what))


def _file(item_id: int, wanted: str) -> Item:
    item = items.get_item(context.db(), item_id)
    if item.kind != "file" or item.status == "undecryptable" or _preview().viewable(item) != wanted:
        abort(404)
    return item


@bp.get("/<int:item_id>/image")
def image(item_id: int) -> ResponseReturnValue:
    _file(item_id, "image")
    rendered = _preview().image(context.station(), context.keys(), context.db(), item_id)
    return _rendered(item_id, "image", rendered)


@bp.get("/<int:item_id>/thumbnail")
def thumbnail(item_id: int) -> ResponseReturnValue:
    if not thumbnailable(items.get_item(context.db(), item_id)):
        abort(404)
    cache = context.desk().thumbnails
    rendered = cache.get(item_id)
    if rendered is None:
        rendered = _preview().thumbnail(context.station(), context.keys(), context.db(), item_id)
        cache[item_id] = rendered
        while len(cache) > MAX_THUMBNAILS:
            cache.popitem(last=False)
    return _rendered(item_id, "thumbnail", rendered)


@bp.get("/<int:item_id>/page/<int:page>")
def pdf_page(item_id: int, page: int) -> ResponseReturnValue:
    _file(item_id, "pdf")
    rendered = _preview().pdf_page(context.station(), context.keys(), context.db(), item_id, page)
    return _rendered(item_id, f"page-{page}", rendered)


@bp.get("/<int:item_id>/poster")
def poster(item_id: int) -> ResponseReturnValue:
    _file(item_id, "video")
    rendered = _preview().poster(context.station(), context.keys(), context.db(), item_id)
    return _rendered(item_id, "poster", rendered)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range, clipped to the file; None when unsatisfiable.

    An open-ended range is answered with at most MAX_RANGE bytes (the client asks for the rest)."""
    match = _RANGE.fullmatch((header or "").strip())
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if not first:  # a suffix: the last N bytes
        if not last or int(last) == 0:
            return None
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else min(size - 1, start + MAX_RANGE - 1)
    if start >= size or end < start:
        return None
    return start, end


@bp.get("/<int:item_id>/media")
def media(item_id: int) -> ResponseReturnValue:
    """Video or audio by byte range (206), only for a container the sandboxed probe identified."""
    item = items.get_item(context.db(), item_id)
    preview = _preview()
    media_type = (
        preview.playable_type(item) if item.kind == "file" and item.status != "undecryptable" else None
    )
    if media_type is None:
        abort(404)
    size = preview.content_size(item)
    asked = request.headers.get("Range")
    headers = {**_neutral(item_id, media_type, "media"), "Accept-Ranges": "bytes"}
    chosen = parse_range(asked, size) if asked else (0, size - 1)
    if chosen is None or (not asked and size == 0):
        return Response(status=416 if asked else 200, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = chosen
    chunks: Iterator[bytes] = preview.byte_range(context.station(), context.keys(), item, start, end)
    headers["Content-Length"] = str(end - start + 1)
    if asked:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(chunks, status=206 if asked else 200, mimetype=media_type, headers=headers)
