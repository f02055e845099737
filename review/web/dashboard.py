"""The dashboard: incidents by type, region and day as SVG bar charts drawn on the station (with the
counts as tables too), the status counts, and whether the custody log verifies."""

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review import custody
from review.errors import CustodyBroken
from review.models import Item, ItemIncident
from review.web import context
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


def by_incident(db: Session) -> list[tuple[str, int]]:
    rows = db.execute(
        select(ItemIncident.code, func.count()).group_by(ItemIncident.code).order_by(ItemIncident.code)
    )
    return [(incident_name(code), count) for code, count in rows]


def by_region(db: Session) -> list[tuple[str, int]]:
    region = func.coalesce(Item.region, "unknown")
    rows = db.execute(
        select(region, func.count()).where(Item.kind == "file").group_by(region).order_by(region)
    )
    return [(name, count) for name, count in rows]


def by_day(db: Session) -> list[tuple[str, int]]:
    """The day it happened where a reviewer recorded it, else the day it was received (as reports count)."""
    day = func.substr(
        func.coalesce(Item.incident_time, func.cast(Item.received, Item.incident_time.type)), 1, 10
    )
    rows = db.execute(select(day, func.count()).group_by(day).order_by(day))
    return [(name, count) for name, count in rows]


@bp.get("/dashboard")
def index() -> ResponseReturnValue:
    db = context.db()
    try:
        events, head = custody.verify(db, context.station().verify_key)
        verified, problem = True, None
    except CustodyBroken as broken:
        events, head, verified, problem = 0, "", False, str(broken)
    charts = {
        "incident": bars(by_incident(db)),
        "region": bars(by_region(db)),
        "day": bars(by_day(db)),
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
