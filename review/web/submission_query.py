"""One submission in SQL: its items in the order the source sent them, and the replies sealed to it."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.models import Item, OutboxReply


def submission_items(db: Session, submission: str) -> list[Item]:
    """The submission's items (empty when there is no such submission)."""
    return list(db.scalars(select(Item).where(Item.submission == submission).order_by(Item.item_no, Item.id)))


def replies_to(db: Session, found: list[Item]) -> list[OutboxReply]:
    """The replies sealed to any of these items, oldest first."""
    return list(
        db.scalars(
            select(OutboxReply).where(OutboxReply.item_id.in_([i.id for i in found])).order_by(OutboxReply.id)
        )
    )
