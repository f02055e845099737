"""The dashboard: incidents by type, region and day as SVG bar charts drawn on the station (with the
counts as tables too), the status counts, and whether the custody log verifies."""

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from review import custody
from review.errors import CustodyBroken
from review.web import context, dashboard_query
from review.web.i18n import incident_name
from review.web.inbox_query import status_counts

bp = Blueprint("dashboard", __name__)
BAR_WIDTH = 400  # px of the longest bar


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    width: int


def bars(counts: list[tuple[str, int]]) -> list[Bar]:
    top = max((count for _, count in counts), default=0)
    return [Bar(label, count, max(1, count * BAR_WIDTH // top) if top else 0) for label, count in counts]


@bp.get("/dashboard")
def index() -> ResponseReturnValue:
    db = context.db()
    try:
        events, head = custody.verify(db, context.station().verify_key)
        verified, problem = True, None
    except CustodyBroken as broken:
        events, head, verified, problem = 0, "", False, str(broken)
    charts = {
        "incident": bars([(incident_name(code), n) for code, n in dashboard_query.by_incident(db)]),
        "region": bars(dashboard_query.by_region(db)),
        "day": bars(dashboard_query.by_day(db)),
    }
    return render_template(
        "station/dashboard.html",
        charts=charts,
        counts=status_counts(db),
        verified=verified,
        problem=problem,
        events=events,
        head=head,
        bar_width=BAR_WIDTH,
    )
