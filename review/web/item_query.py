"""One item's neighbours in SQL: the items with the same content, and the near-duplicate pictures."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from review import items
from review.models import Item


def same_content(db: Session, item: Item) -> list[Item]:
    """Other items whose content has the same SHA-256 (none for an item with no content)."""
    if item.content_sha256 is None:
        return []
    return list(
        db.scalars(
            select(Item)
            .where(Item.content_sha256 == item.content_sha256, Item.id != item.id)
            .order_by(Item.id)
        )
    )


def near_duplicates(db: Session, item: Item) -> list[tuple[Item, int]]:
    """The suggested near-duplicate pictures (review/items.py) as items, with their Hamming distance."""
    return [(items.get_item(db, other), distance) for other, distance in items.near_duplicates(db, item)]
