"""Writing the catalogue: new items from an import, incidents, place and time, tags, status, notes.

Every change is a custody event, written in the same transaction. Reviewers' commands pass
`unlock`, called only once the request has been checked, so a refusal never asks for the passphrase.
"""

import datetime
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.signing import SigningKey
from review import custody, taxonomy
from review.errors import ReviewError
from review.items import Unlock, get_item, hashes_of
from review.media import Content, Facts
from review.models import STATUSES, Item, ItemIncident, ItemTag, Note

REVIEW_STATUSES = tuple(s for s in STATUSES if s != "undecryptable")
_TAG = re.compile(r"[\w.-]{1,64}")
_PHASH = re.compile(r"[0-9a-f]{16}")


# --- new items, from an import --------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """What a verified export manifest (and the item's metadata envelope) says about a new item."""

    kind: str  # file | message
    envelope_sha256: str
    envelope_size: int
    submission: str
    item_no: int
    source_id: str
    reply_recipient: str
    received: datetime.date
    bundle: str
    metadata_sha256: str | None = None
    original_name: str | None = None
    declared_type: str | None = None


def add_item(db: Session, key: SigningKey, actor: str, arrival: Arrival, content: Content) -> Item:
    """Catalogue a new item whose content opened; an `imported` custody event in the caller's transaction."""
    item = _new_item(arrival)
    item.content_sha256, item.size = content.sha256, content.size
    if content.facts is not None:
        _apply_facts(item, content.facts)
    _add(db, item)
    custody.record(
        db, key, "imported", f"item:{item.id}", actor, _import_hashes(item), {"bundle": arrival.bundle}
    )
    return item


def quarantine(db: Session, key: SigningKey, actor: str, arrival: Arrival, reason: str) -> Item:
    """Catalogue a new item whose content did not open, as `undecryptable`; a `quarantined` event."""
    item = _new_item(arrival)
    item.status = "undecryptable"
    _add(db, item)
    custody.record(db, key, "quarantined", f"item:{item.id}", actor, _import_hashes(item), {"reason": reason})
    return item


def add_derivative(
    db: Session,
    key: SigningKey,
    actor: str,
    original: Item,
    envelope: tuple[str, int],
    content: Content,
    operation: dict[str, Any],
) -> Item:
    """Catalogue a working copy of original (sealed in the vault); a `derived` event naming both hashes."""
    item = Item(
        kind="file",
        envelope_sha256=envelope[0],
        envelope_size=envelope[1],
        submission=original.submission,
        item_no=original.item_no,
        source_id=original.source_id,
        reply_recipient=original.reply_recipient,
        received=original.received,
        bundle=original.bundle,
        declared_type=original.declared_type,
        derived_from=original.id,
    )
    item.content_sha256, item.size = content.sha256, content.size
    if content.facts is not None:
        _apply_facts(item, content.facts)
    _add(db, item)
    hashes = {
        **hashes_of(item),
        "original_envelope_sha256": original.envelope_sha256,
        "original_content_sha256": original.content_sha256 or "",
    }
    custody.record(db, key, "derived", f"item:{item.id}", actor, hashes, {"from": original.id, **operation})
    return item


def _new_item(arrival: Arrival) -> Item:
    return Item(
        kind=arrival.kind,
        envelope_sha256=arrival.envelope_sha256,
        envelope_size=arrival.envelope_size,
        submission=arrival.submission,
        item_no=arrival.item_no,
        source_id=arrival.source_id,
        reply_recipient=arrival.reply_recipient,
        received=arrival.received,
        bundle=arrival.bundle,
        metadata_sha256=arrival.metadata_sha256,
        original_name=arrival.original_name,
        declared_type=arrival.declared_type,
    )


def _add(db: Session, item: Item) -> None:
    db.add(item)
    db.flush()
    _link_duplicates(db, item)


def _import_hashes(item: Item) -> dict[str, str]:
    hashes = hashes_of(item)
    if item.metadata_sha256:
        hashes["metadata_envelope_sha256"] = item.metadata_sha256
    return hashes


def _apply_facts(item: Item, facts: Facts) -> None:
    item.probe_status = facts.status
    item.media = json.dumps(facts.values, ensure_ascii=False, sort_keys=True)
    item.identifying = ",".join(facts.identifying) or None
    phash = facts.values.get("phash")
    item.phash = phash if isinstance(phash, str) and _PHASH.fullmatch(phash) else None


def _link_duplicates(db: Session, item: Item) -> None:
    """Same content SHA-256: linked to the first such item automatically."""
    if not item.content_sha256:
        return
    first = db.scalars(
        select(Item.id)
        .where(Item.content_sha256 == item.content_sha256, Item.id != item.id)
        .order_by(Item.id)
    ).first()
    item.duplicate_of = first


# --- what reviewers record ------------------------------------------------------------------------


def parse_when(text: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ReviewError(f"--when {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise ReviewError(f"--when {text!r} has no UTC offset: add one, e.g. 2024-03-17T14:02+05:00")
    return moment.isoformat()


def tag(
    db: Session,
    unlock: Unlock,
    item_id: int,
    actor: str,
    incidents: list[str],
    tags: list[str],
    polling_station: str | None = None,
    region: str | None = None,
    settlement: str | None = None,
    when: str | None = None,
) -> None:
    item = get_item(db, item_id)
    codes = [taxonomy.validate(code).code for code in incidents]
    moment = parse_when(when) if when is not None else None
    for word in tags:
        if not _TAG.fullmatch(word):
            raise ReviewError(f"tag {word!r} must be one word (letters, digits, . - _)")
    places = {"polling_station": polling_station, "region": region, "settlement": settlement}
    for field, value in places.items():
        if value is not None and not value.strip():
            raise ReviewError(f"--{field.replace('_', '-')} is empty")
    if not (codes or tags or moment is not None or any(value is not None for value in places.values())):
        raise ReviewError(
            "nothing to tag: give --incident, --tag, --polling-station, --region, --settlement or --when"
        )
    key = unlock().signing
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
    for field, value in places.items():
        if value is not None:
            setattr(item, field, value.strip())
            changes[field] = value.strip()
    if moment is not None:
        item.incident_time = moment
        changes["when"] = moment
    custody.record(db, key, "tagged", f"item:{item.id}", actor, hashes_of(item), changes)
    db.commit()


def set_status(db: Session, unlock: Unlock, item_id: int, status: str, actor: str) -> None:
    item = get_item(db, item_id)
    if status not in REVIEW_STATUSES:
        raise ReviewError(f"status must be one of {', '.join(REVIEW_STATUSES)}")
    if item.status == "undecryptable":
        raise ReviewError(f"item {item.id} is quarantined (undecryptable); its status cannot change")
    key = unlock().signing
    previous, item.status = item.status, status
    custody.record(
        db, key, "status", f"item:{item.id}", actor, hashes_of(item), {"from": previous, "to": status}
    )
    db.commit()


def add_note(db: Session, unlock: Unlock, item_id: int, text: str, actor: str) -> Note:
    item = get_item(db, item_id)
    text = text.strip()
    if not text:
        raise ReviewError("the note is empty")
    key = unlock().signing
    note = Note(item_id=item.id, text=text, actor=actor)
    db.add(note)
    db.flush()
    text_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()  # binds the text, does not reveal it
    custody.record(
        db,
        key,
        "noted",
        f"item:{item.id}",
        actor,
        hashes_of(item),
        {"note": note.id, "text_sha256": text_sha256},
    )
    db.commit()
    return note
