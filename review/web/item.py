"""One item: its facts, viewer, catalogue form, duplicates and custody history; each change one event.

The forms post to one view per CLI command (tag, status, note, extract) and call the same library
functions the CLI calls, so the custody log reads the same whoever made the change.
"""

from pathlib import Path

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from review import catalogue, items, taxonomy
from review.errors import ReviewError
from review.models import Item
from review.web import context, item_query, viewing
from review.web.places import region_choices

bp = Blueprint("item", __name__, url_prefix="/item")


def _text(name: str) -> str | None:
    value = request.form.get(name, "").strip()
    return value or None


def _message(item: Item) -> str | None:
    """A message's text: the first showing in an unlocked session is an `opened` custody event."""
    if not items.readable_message(item):
        return None
    desk = context.desk()
    if item.id not in desk.opened:
        text = items.read_message(context.station(), context.db(), context.keys(), item, context.actor())
        desk.opened.add(item.id)
        desk.messages.setdefault(item.id, text)
        return text
    return desk.messages.get(item.id) or items.message_text(
        context.station(), context.db(), context.keys(), item
    )


@bp.get("/<int:item_id>")
def show(item_id: int) -> ResponseReturnValue:
    db = context.db()
    item = items.get_item(db, item_id)
    return render_template(
        "station/item.html",
        item=item,
        facts=items.as_dict(item, db),
        media=items.media_facts(item),
        identifying=items.identifying_of(item),
        notes=items.notes_of(db, item.id),
        history=items.history(db, item.id),
        near=item_query.near_duplicates(db, item),
        same=item_query.same_content(db, item),
        message=_message(item),
        view=viewing.describe(item),
        groups=taxonomy.groups(),
        statuses=catalogue.REVIEW_STATUSES,
        regions=region_choices(str(get_locale())),
    )


def _back(item_id: int, notice: str) -> ResponseReturnValue:
    flash(notice)
    return redirect(url_for("item.show", item_id=item_id), code=303)


@bp.post("/<int:item_id>/catalogue")
def catalogue_form(item_id: int) -> ResponseReturnValue:
    """The cataloguing form: a tag event for what it sets, a status event, a note event, in that order."""
    db, actor = context.db(), context.actor()
    incidents = [code for code in request.form.getlist("incident") if code]
    tags = (request.form.get("tag") or "").split()
    places = {name: _text(name) for name in ("polling_station", "region", "settlement", "when")}
    item = items.get_item(db, item_id)
    if incidents or tags or any(places.values()):
        catalogue.tag(db, context.keys, item_id, actor, incidents, tags, **places)
    status = _text("status")
    if status and status != item.status:
        catalogue.set_status(db, context.keys, item_id, status, actor)
    note = _text("note")
    if note:
        catalogue.add_note(db, context.keys, item_id, note, actor)
    return _back(item_id, _("Saved."))


@bp.post("/<int:item_id>/duplicate")
def mark_duplicate(item_id: int) -> ResponseReturnValue:
    catalogue.set_status(context.db(), context.keys, item_id, "duplicate", context.actor())
    return _back(item_id, _("Marked as a duplicate."))


@bp.post("/<int:item_id>/extract")
def extract(item_id: int) -> ResponseReturnValue:
    out = _text("path")
    if out is None:
        raise ReviewError("give the path of a new file to extract to")
    size = items.extract(context.station(), context.db(), context.keys, item_id, Path(out), context.actor())
    return _back(item_id, _("Wrote %(size)d bytes to %(path)s", size=size, path=out))
