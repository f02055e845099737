"""The inbox (submissions, newest first, filtered and paged), a source's submissions, one submission."""

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from review import outbox, taxonomy
from review.catalogue import REVIEW_STATUSES
from review.items import Filter
from review.web import context
from review.web.inbox_query import InboxFilter, inbox, parse_day, regions, status_counts
from review.web.search import message_hits
from review.web.submission_query import replies_to, submission_items

bp = Blueprint("inbox", __name__)


def _filter() -> InboxFilter:
    args = request.args

    def value(name: str) -> str | None:
        return args.get(name, "").strip() or None

    return InboxFilter(
        chosen=Filter(value("status"), value("incident"), value("region"), value("polling_station")),
        since=parse_day(value("since"), "since"),
        until=parse_day(value("until"), "until"),
        text=value("q"),
        source=value("source"),
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    where = _filter()
    page = inbox(context.db(), where, request.args.get("page", 1, type=int), message_hits)
    return render_template(
        "station/inbox.html",
        result=page,
        where=where,
        counts=status_counts(context.db()),
        statuses=REVIEW_STATUSES,
        groups=taxonomy.groups(),
        regions=regions(context.db()),
        query={k: v for k, v in request.args.items() if k != "page" and v},
    )


@bp.get("/submission/<submission>")
def submission(submission: str) -> ResponseReturnValue:
    db = context.db()
    found = submission_items(db, submission)
    if not found:
        abort(404)
    replies = replies_to(db, found)
    return render_template(
        "station/submission.html",
        submission=submission,
        items=found,
        source=found[0].source_id,
        replies=replies,
        max_reply=outbox.MAX_REPLY_CHARS,
    )
