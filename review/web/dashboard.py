"""The dashboard: incidents by type, region and day as SVG bar charts drawn on the station (with the
counts as tables too), the status counts, and whether the custody log verifies (custody_state.py)."""

from dataclasses import dataclass

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

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
    """?verify=whole verifies the whole custody log again; otherwise only the events added since."""
    db, check, key = context.db(), context.desk().custody, context.station().verify_key
    try:
        state = check.whole(db, key) if request.args.get("verify") == "whole" else check.current(db, key)
        problem = None
    except CustodyBroken as broken:
        state, problem = None, str(broken)
    charts = {
        "incident": bars([(incident_name(code), n) for code, n in dashboard_query.by_incident(db)]),
        "region": bars(dashboard_query.by_region(db)),
        "day": bars(dashboard_query.by_day(db)),
    }
    return render_template(
        "station/dashboard.html",
        charts=charts,
        counts=status_counts(db),
        custody=state,
        problem=problem,
        bar_width=BAR_WIDTH,
    )
