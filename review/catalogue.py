"""Cataloguing: incidents, place and time, tags, status, notes, media facts and duplicates.

Every change a reviewer makes is a custody event, written in the same transaction.
"""

import datetime
import json
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.signing import SigningKey
from review import custody, taxonomy
from review.errors import ReviewError
from review.media import Facts
from review.models import STATUSES, Item, ItemIncident, ItemTag, Note

REVIEW_STATUSES = tuple(s for s in STATUSES if s != "undecryptable")
NEAR_DUPLICATE_BITS = 8
_TAG = re.compile(r"[\w.-]{1,64}")


def apply_facts(item: Item, facts: Facts) -> None:
    item.probe_status = facts.status
    item.media = json.dumps(facts.values, ensure_ascii=False, sort_keys=True)
    item.identifying = ",".join(facts.identifying) or None
    phash = facts.values.get("phash")
    item.phash = phash if isinstance(phash, str) and re.fullmatch(r"[0-9a-f]{16}", phash) else None


def media_facts(item: Item) -> dict[str, Any]:
    return dict(json.loads(item.media)) if item.media else {}


def link_duplicates(db: Session, item: Item) -> None:
    """Same content SHA-256: linked to the first such item automatically."""
    if not item.content_sha256:
        return
    first = db.scalars(
        select(Item.id)
        .where(Item.content_sha256 == item.content_sha256, Item.id != item.id)
        .order_by(Item.id)
    ).first()
    item.duplicate_of = first


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


def parse_when(text: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ReviewError(f"--when {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise ReviewError(f"--when {text!r} has no UTC offset: add one, e.g. 2024-03-17T14:02+05:00")
    return moment.isoformat()


def incidents_of(db: Session, item_id: int) -> list[str]:
    return list(
        db.scalars(
            select(ItemIncident.code).where(ItemIncident.item_id == item_id).order_by(ItemIncident.code)
        )
    )


def tags_of(db: Session, item_id: int) -> list[str]:
    return list(db.scalars(select(ItemTag.tag).where(ItemTag.item_id == item_id).order_by(ItemTag.tag)))


def tag(
    db: Session,
    key: SigningKey,
    item: Item,
    actor: str,
    incidents: list[str],
    tags: list[str],
    polling_station: str | None = None,
    region: str | None = None,
    settlement: str | None = None,
    when: str | None = None,
) -> None:
    codes = [taxonomy.validate(code).code for code in incidents]
    for word in tags:
        if not _TAG.fullmatch(word):
            raise ReviewError(f"tag {word!r} must be one word (letters, digits, . - _)")
    changes: dict[str, Any] = {}
    for code in codes:
        if db.get(ItemIncident, (item.id, code)) is None:
            db.add(ItemIncident(item_id=item.id, code=code))
    for word in tags:
        if db.get(ItemTag, (item.id, word)) is None:
            db.add(ItemTag(item_id=item.id, tag=word))
    if codes:
        changes["incidents"] = codes
    if tags:
        changes["tags"] = tags
    for field, value in (
        ("polling_station", polling_station),
        ("region", region),
        ("settlement", settlement),
    ):
        if value is not None:
            if not value.strip():
                raise ReviewError(f"--{field.replace('_', '-')} is empty")
            setattr(item, field, value.strip())
            changes[field] = value.strip()
    if when is not None:
        item.incident_time = parse_when(when)
        changes["when"] = item.incident_time
    if not changes:
        raise ReviewError(
            "nothing to tag: give --incident, --tag, --polling-station, --region, --settlement or --when"
        )
    custody.record(db, key, "tagged", f"item:{item.id}", actor, _hashes(item), changes)
    db.commit()


def set_status(db: Session, key: SigningKey, item: Item, status: str, actor: str) -> None:
    if status not in REVIEW_STATUSES:
        raise ReviewError(f"status must be one of {', '.join(REVIEW_STATUSES)}")
    if item.status == "undecryptable":
        raise ReviewError(f"item {item.id} is quarantined (undecryptable); its status cannot change")
    previous, item.status = item.status, status
    custody.record(
        db, key, "status", f"item:{item.id}", actor, _hashes(item), {"from": previous, "to": status}
    )
    db.commit()


def add_note(db: Session, key: SigningKey, item: Item, text: str, actor: str) -> Note:
    text = text.strip()
    if not text:
        raise ReviewError("the note is empty")
    note = Note(item_id=item.id, text=text, actor=actor)
    db.add(note)
    db.flush()
    custody.record(db, key, "noted", f"item:{item.id}", actor, _hashes(item), {"note": note.id})
    db.commit()
    return note


def notes_of(db: Session, item_id: int) -> list[Note]:
    return list(db.scalars(select(Note).where(Note.item_id == item_id).order_by(Note.id)))


def filtered(
    db: Session,
    status: str | None = None,
    incident: str | None = None,
    region: str | None = None,
    polling_station: str | None = None,
) -> list[Item]:
    query = select(Item).order_by(Item.id)
    if status:
        query = query.where(Item.status == status)
    if incident:
        code = taxonomy.validate(incident).code
        query = query.where(Item.id.in_(select(ItemIncident.item_id).where(ItemIncident.code == code)))
    if region:
        query = query.where(Item.region == region.strip())
    if polling_station:
        query = query.where(Item.polling_station == polling_station.strip())
    return list(db.scalars(query))


def _hashes(item: Item) -> dict[str, str]:
    hashes = {"envelope_sha256": item.envelope_sha256}
    if item.content_sha256:
        hashes["content_sha256"] = item.content_sha256
    return hashes
