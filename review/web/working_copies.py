"""Working copies from an item's page: metadata stripped or a clip cut, as `tamga-review derive` makes.

The view calls review/derive.py, the function the command calls, so the copy, its `derived_from`
link and its custody event are the command's. The item page lists an original's copies and a
copy's original through the two template globals below.
"""

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from review import derive, items, media
from review.models import Item
from review.web import context

bp = Blueprint("working_copies", __name__, url_prefix="/item")


@dataclass(frozen=True)
class CopyOptions:
    strip: bool  # the item's type has a working copy (review/derive.py EXTENSIONS)
    clip: bool  # video or audio: a clip can be cut


@dataclass(frozen=True)
class Copy:
    item: Item
    operation: str  # as its `derived` event names it, e.g. "strip-metadata+clip"


@bp.app_template_global()
def copy_options(item: Item) -> CopyOptions:
    """What the "Make a working copy" form offers; the library still checks everything itself."""
    media_type = str(items.media_facts(item).get("media_type") or "")
    usable = item.kind == "file" and item.status != "undecryptable" and media_type in derive.EXTENSIONS
    return CopyOptions(usable, usable and media.family(media_type) == "av")


@bp.app_template_global()
def working_copies(item: Item) -> list[Copy]:
    """The item's working copies, each with the operation its signed `derived` event records."""
    db = context.db()
    return [_copy(items.get_item(db, copy_id)) for copy_id in items.derivatives_of(db, item.id)]


def _copy(item: Item) -> Copy:
    made = [e for e in items.history(context.db(), item.id) if e.body["action"] == "derived"]
    return Copy(item, str(made[0].body["details"].get("operation", "")) if made else "")


@bp.post("/<int:item_id>/derive")
def make(item_id: int) -> ResponseReturnValue:
    strip = request.form.get("strip_metadata") == "yes"
    clip_text = request.form.get("clip", "").strip()
    clip = derive.parse_clip(clip_text) if clip_text else None
    made = derive.derive(context.station(), context.db(), context.keys, item_id, context.actor(), strip, clip)
    flash(
        _(
            "Working copy %(copy)d made from item %(original)d (%(operation)s): %(size)d bytes, "
            "SHA-256 %(digest)s",
            copy=made.item.id,
            original=made.original.id,
            operation=made.operation["operation"],
            size=made.item.size or 0,
            digest=made.item.content_sha256 or "",
        )
    )
    return redirect(url_for("item.show", item_id=made.item.id), code=303)
