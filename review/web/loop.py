"""The rest of the loop without a terminal: import bundles, reply to sources, export the outbox, reports.

Each view calls the function its CLI command calls (importer, outbox, report) with the same
defaults, so a page and a command leave the same catalogue and the same custody events.
"""

from pathlib import Path

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from review import importer, items, outbox, report
from review.errors import ReviewError
from review.models import STATUSES, OutboxReply
from review.web import context
from review.web.uploads import staged_upload

bp = Blueprint("loop", __name__)


def _import(path: Path) -> importer.Report:
    result = importer.import_bundle(context.station(), context.db(), context.keys(), path, context.actor())
    context.desk().messages.clear()  # new messages join the search
    return result


def _imported(result: importer.Report) -> ResponseReturnValue:
    if result.already_imported:
        flash(_("This bundle was already imported: nothing changed."))
    else:
        flash(
            _(
                "Imported %(items)d item(s), quarantined %(quarantined)d, %(skipped)d already known.",
                items=len(result.items),
                quarantined=len(result.quarantined),
                skipped=result.skipped,
            )
        )
    return redirect(url_for("inbox.index"), code=303)


@bp.get("/import")
def import_form() -> ResponseReturnValue:
    return render_template("station/import.html")


@bp.post("/import/path")
def import_path() -> ResponseReturnValue:
    return _imported(_import(context.path_field("path")))


@bp.post("/import/upload")
def import_upload() -> ResponseReturnValue:
    """The upload streamed to <station>/incoming/ (review/web/uploads.py), imported, then removed."""
    with staged_upload("bundle", "choose a bundle file to upload") as (staged, _name):
        return _imported(_import(staged))


@bp.post("/reply/<int:item_id>")
def reply(item_id: int) -> ResponseReturnValue:
    item = items.get_item(context.db(), item_id)
    row = outbox.reply(
        context.station(), context.db(), context.keys(), item, request.form.get("text", ""), context.actor()
    )
    flash(_("Reply %(id)d sealed; it waits in the outbox.", id=row.id))
    return redirect(url_for("inbox.submission", submission=item.submission), code=303)


@bp.get("/outbox")
def outbox_form() -> ResponseReturnValue:
    waiting = context.db().scalar(select(func.count()).where(OutboxReply.exported_in.is_(None))) or 0
    return render_template("station/outbox.html", waiting=waiting)


@bp.post("/outbox")
def export_outbox() -> ResponseReturnValue:
    out = context.path_field("path")
    replies, acks = outbox.export_outbox(
        context.station(), context.db(), context.keys(), out, context.actor()
    )
    flash(
        _(
            "Wrote %(path)s: %(replies)d reply(ies), %(acks)d acknowledgement(s).",
            path=out,
            replies=replies,
            acks=acks,
        )
    )
    return redirect(url_for("loop.outbox_form"), code=303)


@bp.get("/reports")
def report_form() -> ResponseReturnValue:
    return render_template("station/reports.html", formats=report.FORMATS, statuses=STATUSES)


@bp.post("/reports")
def write_report() -> ResponseReturnValue:
    fmt = request.form.get("format", "")
    if fmt not in report.FORMATS:
        raise ReviewError(f"the format must be one of {', '.join(report.FORMATS)}")
    out = context.path_field("path")
    where = items.Filter(
        *(
            request.form.get(name, "").strip() or None
            for name in ("status", "incident", "region", "polling_station")
        )
    )
    written = report.write(
        context.station(),
        context.db(),
        context.keys,
        fmt,
        out,
        request.form.get("include_identifying") == "yes",
        where,
        context.actor(),
    )
    flash(_("Wrote %(path)s (sha256 %(digest)s).", path=out, digest=written.sha256))
    return redirect(url_for("loop.report_form"), code=303)
