"""Reading the catalogue: list, show and extract items, and their custody history.

Plaintext is produced only on demand, and each opening is a custody event. Commands pass
`unlock`, called only once a request has been checked, so a refusal never asks for the passphrase.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from crypto.files import atomic_new_file
from review import custody, evidence, taxonomy
from review.errors import ItemNotFound, ReviewError
from review.models import Item, ItemIncident, ItemTag, Note
from review.safe_text import neutralise
from review.station import Keys, Station

Unlock = Callable[[], Keys]
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
NEAR_DUPLICATE_BITS = 8


@dataclass(frozen=True)
class Filter:
    """Which items `list` and `report` take; None takes all."""

    status: str | None = None
    incident: str | None = None
    region: str | None = None
    polling_station: str | None = None


def get_item(db: Session, item_id: int) -> Item:
    item = db.get(Item, item_id)
    if item is None:
        raise ItemNotFound(item_id)
    return item


def is_catalogued(db: Session, envelope_sha256: str) -> bool:
    return db.scalars(select(Item.id).where(Item.envelope_sha256 == envelope_sha256)).first() is not None


def readable_message(item: Item) -> bool:
    """A message whose envelope opened at import: its text can be shown."""
    return item.kind == "message" and item.status != "undecryptable"


def _refuse_quarantined(item: Item) -> None:
    if item.status == "undecryptable":
        raise ReviewError(f"item {item.id} is quarantined: its envelope does not open")


def hashes_of(item: Item) -> dict[str, str]:
    """The hashes a custody event about this item names."""
    hashes = {"envelope_sha256": item.envelope_sha256}
    if item.content_sha256:
        hashes["content_sha256"] = item.content_sha256
    return hashes


def media_facts(item: Item) -> dict[str, Any]:
    return dict(json.loads(item.media)) if item.media else {}


def identifying_of(item: Item) -> list[str]:
    """Which identifying details the item's file carries (review/media.py IDENTIFYING)."""
    return item.identifying.split(",") if item.identifying else []


def incidents_of(db: Session, item_id: int) -> list[str]:
    return list(
        db.scalars(
            select(ItemIncident.code).where(ItemIncident.item_id == item_id).order_by(ItemIncident.code)
        )
    )


def tags_of(db: Session, item_id: int) -> list[str]:
    return list(db.scalars(select(ItemTag.tag).where(ItemTag.item_id == item_id).order_by(ItemTag.tag)))


def notes_of(db: Session, item_id: int) -> list[Note]:
    return list(db.scalars(select(Note).where(Note.item_id == item_id).order_by(Note.id)))


def filtered(db: Session, where: Filter) -> list[Item]:
    return list(db.scalars(narrowed(select(Item).order_by(Item.id), where)))


def narrowed(query: Select[Any], where: Filter) -> Select[Any]:
    """`query` (over items) limited to the items the filter takes."""
    if where.status:
        query = query.where(Item.status == where.status)
    if where.incident:
        code = taxonomy.validate(where.incident).code
        query = query.where(Item.id.in_(select(ItemIncident.item_id).where(ItemIncident.code == code)))
    if where.region:
        query = query.where(Item.region == where.region.strip())
    if where.polling_station:
        query = query.where(Item.polling_station == where.polling_station.strip())
    return query


def near_duplicates(db: Session, item: Item) -> list[tuple[int, int]]:
    """Suggested (not linked) near-duplicate images: (item id, Hamming distance of perceptual hashes)."""
    if not item.phash:
        return []
    mine = int(item.phash, 16)
    found = []
    for other_id, other_hash in db.execute(
        select(Item.id, Item.phash).where(Item.phash.is_not(None), Item.id != item.id)
    ):
        distance = bin(mine ^ int(other_hash or "0", 16)).count("1")
        if distance <= NEAR_DUPLICATE_BITS:
            found.append((other_id, distance))
    return sorted(found, key=lambda pair: pair[1])


def as_dict(item: Item, db: Session) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "sha256": item.content_sha256,
        "size": item.size,
        "received": item.received.isoformat(),
        "name": item.original_name,
        "type": item.declared_type,
        "envelope_sha256": item.envelope_sha256,
        "submission": item.submission,
        "source": item.source_id,
        "polling_station": item.polling_station,
        "region": item.region,
        "settlement": item.settlement,
        "when": item.incident_time,
        "probe": item.probe_status,
        "media": media_facts(item) or None,
        "identifying_metadata": identifying_of(item),
        "duplicate_of": item.duplicate_of,
        "derived_from": item.derived_from,
        "derivatives": derivatives_of(db, item.id),
        "incidents": incidents_of(db, item.id),
        "tags": tags_of(db, item.id),
    }


def derivatives_of(db: Session, item_id: int) -> list[int]:
    """The working copies made from this item (review/derive.py)."""
    return list(db.scalars(select(Item.id).where(Item.derived_from == item_id).order_by(Item.id)))


def listing(db: Session, where: Filter) -> list[dict[str, Any]]:
    """What `list` shows: every item the filter takes, as facts; working copies right after their original."""
    found = filtered(db, where)
    found.sort(key=lambda item: (item.derived_from or item.id, item.id))
    return [as_dict(item, db) for item in found]


def describe(station: Station, db: Session, unlock: Unlock, item_id: int, actor: str) -> dict[str, Any]:
    """What `show` shows: an item's facts, notes and near-duplicates; a message's text (opened).

    Either way the envelope is checked against the custody log (review/evidence.py) first.
    """
    item = get_item(db, item_id)
    facts = as_dict(item, db)
    facts["notes"] = [f"{n.created_at:%Y-%m-%d} {n.actor}: {n.text}" for n in notes_of(db, item.id)]
    facts["near_duplicates"] = [f"item {other} (distance {d})" for other, d in near_duplicates(db, item)]
    if readable_message(item):
        facts["text"] = read_message(station, db, unlock(), item, actor)
    else:
        evidence.check_envelope(station, db, item)
    return facts


def history(db: Session, item_id: int) -> list[custody.Event]:
    """An item's custody events, oldest first."""
    get_item(db, item_id)
    return custody.history(db, f"item:{item_id}")


def read_message(station: Station, db: Session, keys: Keys, item: Item, actor: str) -> str:
    """Decrypt a message in memory, neutralised (review/safe_text.py); the opening is a custody event.

    Warning: returns the source's plaintext; never log or store it.
    """
    text = message_text(station, db, keys, item)
    custody.record(db, keys.signing, "opened", f"item:{item.id}", actor, hashes_of(item))
    db.commit()
    return text


def message_text(station: Station, db: Session, keys: Keys, item: Item) -> str:
    """A message decrypted in memory and neutralised, without a custody event (the caller records it,
    or, for the station UI's search, shows none of it).

    Warning: returns the source's plaintext; never log or store it.
    """
    if item.kind != "message":
        raise ReviewError(f"item {item.id} is a file, not a message: use extract")
    _refuse_quarantined(item)
    if item.size is not None and item.size > MAX_MESSAGE_BYTES:
        raise ReviewError(f"item {item.id} is too large to show as a message: use extract")
    parts = list(evidence.plaintext(station, db, keys, item))
    return neutralise(b"".join(parts).decode("utf-8", "replace"))


def refuse_to_overwrite(path: Path) -> None:
    """Checked before any work: plaintext and reports never replace a file (nor follow a symlink)."""
    if os.path.lexists(path):
        raise ReviewError(f"{path} already exists: refusing to overwrite it")


def extract(station: Station, db: Session, unlock: Unlock, item_id: int, out: Path, actor: str) -> int:
    """Write the original bytes to out, only once envelope and plaintext match the custody log."""
    item = get_item(db, item_id)
    _refuse_quarantined(item)
    refuse_to_overwrite(out)
    keys = unlock()
    size = 0
    with atomic_new_file(out, direct=True) as dst:  # linked into place only once both hashes matched
        for chunk in evidence.plaintext(station, db, keys, item):
            dst.write(chunk)
            size += len(chunk)
    custody.record(
        db, keys.signing, "extracted", f"item:{item.id}", actor, hashes_of(item), {"to": str(out.resolve())}
    )
    db.commit()
    return size
