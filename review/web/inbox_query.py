"""The inbox in SQL: items chosen by the filters, grouped by submission, newest first, one page at a time.

Only the message search reads plaintext: messages are decrypted once per unlock into the desk's
memory (never to disk, never into the catalogue) and matched there; everything else is a query.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from review import items
from review.errors import ReviewError
from review.models import Item, Note

PAGE_SIZE = 25


@dataclass(frozen=True)
class InboxFilter:
    """What `list` filters by (status, incident, place), and what only the inbox has."""

    chosen: items.Filter = field(default_factory=items.Filter)
    since: datetime.date | None = None
    until: datetime.date | None = None
    text: str | None = None
    source: str | None = None


@dataclass
class Group:
    submission: str
    source: str
    received: datetime.date
    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class InboxPage:
    groups: list[Group]
    page: int
    pages: int
    matched: int


def parse_day(text: str | None, name: str) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ReviewError(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


def _chosen(where: InboxFilter, message_hits: Callable[[str], list[int]]) -> Select[Any]:
    query = items.narrowed(select(Item.id), where.chosen)
    if where.since:
        query = query.where(Item.received >= where.since)
    if where.until:
        query = query.where(Item.received <= where.until)
    if where.source:
        query = query.where(Item.source_id == where.source)
    if where.text:
        pattern = "%" + where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        noted = select(Note.item_id).where(Note.text.ilike(pattern, escape="\\"))
        query = query.where(or_(Item.id.in_(noted), Item.id.in_(message_hits(where.text))))
    return query


def inbox(db: Session, where: InboxFilter, page: int, message_hits: Callable[[str], list[int]]) -> InboxPage:
    """One page of submissions (with their chosen items) that the filter takes, newest first."""
    chosen = _chosen(where, message_hits).subquery()
    grouped = (
        select(Item.submission, func.max(Item.id).label("newest"))
        .where(Item.id.in_(select(chosen.c.id)))
        .group_by(Item.submission)
    )
    matched = db.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    pages = max(1, -(-matched // PAGE_SIZE))
    page = min(max(page, 1), pages)
    order = grouped.order_by(func.max(Item.id).desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    submissions = [row.submission for row in db.execute(order)]
    rows = db.scalars(
        select(Item)
        .where(Item.submission.in_(submissions), Item.id.in_(select(chosen.c.id)))
        .order_by(Item.item_no, Item.id)
    )
    groups: dict[str, Group] = {s: Group(s, "", datetime.date.min) for s in submissions}
    for row in rows:
        group = groups[row.submission]
        group.source, group.received = row.source_id, max(group.received, row.received)
        group.items.append(row)
    return InboxPage([groups[s] for s in submissions], page, pages, matched)


def status_counts(db: Session) -> dict[str, int]:
    return {
        status: count for status, count in db.execute(select(Item.status, func.count()).group_by(Item.status))
    }


def messages_to_search(db: Session) -> list[Item]:
    return [
        item
        for item in db.scalars(select(Item).where(Item.kind == "message"))
        if items.readable_message(item)
    ]


def matching(texts: dict[int, str], needle: str) -> list[int]:
    folded = needle.casefold()
    return [item_id for item_id, text in texts.items() if folded in text.casefold()]


def regions(db: Session) -> list[str]:
    return [
        r
        for r in db.scalars(
            select(Item.region).where(Item.region.is_not(None)).distinct().order_by(Item.region)
        )
        if r
    ]
