"""The dashboard in SQL: how many incidents of each type, items in each region, items on each day."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review.models import Item, ItemIncident


def by_incident(db: Session) -> list[tuple[str, int]]:
    """(incident code, count), by code; the page names them in the reviewer's language."""
    rows = db.execute(
        select(ItemIncident.code, func.count()).group_by(ItemIncident.code).order_by(ItemIncident.code)
    )
    return [(code, count) for code, count in rows]


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
