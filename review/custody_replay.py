"""Replaying the custody log against the catalogue: every row an event vouches for must be as it says.

custody.verify() proves the log itself is whole; this proves the catalogue is what the log made
it. Starting from nothing, each signed event is applied in order (imported, derived and
quarantined create items; tagged, status and noted change them; the rest change nothing but must
name the item's hashes), then the result is compared with the catalogue: item rows, hashes,
status, incidents, place and time, tags, notes, duplicates and working copies, and items that
exist without an event. With `deep`, every envelope in the vault is hashed too (no passphrase).
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.signing import VerifyKey
from review import custody
from review.errors import CustodyBroken
from review.models import CustodyEvent, Item, ItemIncident, ItemTag, Note
from review.vault import Vault, file_sha256

# Events about an item that change no catalogue row.
READ_ONLY = ("opened", "extracted", "packaged", "replied")
PLACES = ("polling_station", "region", "settlement")
MAX_SHOWN = 20


@dataclass
class Expected:
    """One item as its events make it."""

    envelope_sha256: str
    content_sha256: str | None
    metadata_sha256: str | None
    status: str
    derived_from: int | None = None
    duplicate_of: int | None = None
    incidents: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    places: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(PLACES))
    when: str | None = None
    notes: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # id: (actor, text sha256)


def replay(db: Session, verify_key: VerifyKey) -> tuple[dict[int, Expected], list[str]]:
    """The items the log makes, and what in the log itself contradicts that (e.g. an unknown action)."""
    state: dict[int, Expected] = {}
    faults: list[str] = []
    for row in db.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)):
        body = custody.signed_body(row, verify_key)
        obj = str(body.get("object", ""))
        if obj.startswith("item:") and obj[5:].isdigit():
            fault = _apply(state, int(obj[5:]), body)
            if fault:
                faults.append(f"event {row.seq} ({body.get('action')} of {obj}): {fault}")
    return state, faults


def _apply(state: dict[int, Expected], item_id: int, body: dict[str, Any]) -> str | None:
    action, hashes, details = body.get("action"), body.get("hashes", {}), body.get("details", {})
    if action in ("imported", "quarantined", "derived"):
        if item_id in state:
            return "the item already exists"
        content = hashes.get("content_sha256")
        state[item_id] = Expected(
            hashes.get("envelope_sha256", ""),
            content,
            hashes.get("metadata_envelope_sha256"),
            "undecryptable" if action == "quarantined" else "new",
            details.get("from") if action == "derived" else None,
            min((i for i, e in state.items() if content and e.content_sha256 == content), default=None),
        )
        return None
    item = state.get(item_id)
    if item is None:
        return "no earlier event created the item"
    for key in ("envelope_sha256", "content_sha256"):
        if key in hashes and hashes[key] != getattr(item, key):
            return f"it names {key} {hashes[key]}, the item's is {getattr(item, key)}"
    if action == "tagged":
        item.incidents |= set(details.get("incidents", []))
        item.tags |= set(details.get("tags", []))
        for place in PLACES:
            if place in details:
                item.places[place] = details[place]
        item.when = details.get("when", item.when)
    elif action == "status":
        if details.get("from") != item.status:
            return f"it changes status from {details.get('from')!r}, but the item's was {item.status!r}"
        item.status = details.get("to")
    elif action == "noted":
        item.notes[details.get("note")] = (body.get("actor", ""), details.get("text_sha256"))
    elif action not in READ_ONLY:
        return "an action this Tamga does not know"
    return None


def differences(db: Session, verify_key: VerifyKey, vault: Vault | None = None) -> list[str]:
    """Everything in the catalogue (and, given the vault, its files) that the custody log contradicts."""
    state, found = replay(db, verify_key)
    rows = {item.id: item for item in db.scalars(select(Item))}
    for item_id in sorted(set(rows) - set(state)):
        found.append(f"item {item_id} is in the catalogue, but no custody event records its import")
    for item_id in sorted(set(state) - set(rows)):
        found.append(f"item {item_id} is missing from the catalogue, but its custody events record it")
    incidents = _pairs(db, ItemIncident.item_id, ItemIncident.code)
    tags = _pairs(db, ItemTag.item_id, ItemTag.tag)
    notes: dict[int, list[Note]] = {}
    for note in db.scalars(select(Note).order_by(Note.id)):
        notes.setdefault(note.item_id, []).append(note)
    for item_id in sorted(set(notes) - set(state)):
        found.append(f"item {item_id} has notes in the catalogue, but no custody event records the item")
    for item_id in sorted(set(rows) & set(state)):
        expected, row = state[item_id], rows[item_id]
        found += _compare_row(item_id, expected, row)
        found += _compare_set(item_id, "incident", expected.incidents, incidents.get(item_id, set()))
        found += _compare_set(item_id, "tag", expected.tags, tags.get(item_id, set()))
        found += _compare_notes(item_id, expected, notes.get(item_id, []))
        if vault is not None:
            found += _rehash(item_id, expected, vault)
    return found


def check(db: Session, verify_key: VerifyKey, vault: Vault | None = None) -> int:
    """Raise CustodyBroken naming every difference (the first MAX_SHOWN); return the items checked."""
    found = differences(db, verify_key, vault)
    if found:
        shown = "; ".join(found[:MAX_SHOWN])
        more = f"; and {len(found) - MAX_SHOWN} more" if len(found) > MAX_SHOWN else ""
        raise CustodyBroken(f"the catalogue differs from the custody log: {shown}{more}")
    return len(db.scalars(select(Item.id)).all())


def _pairs(db: Session, key: Any, value: Any) -> dict[int, set[str]]:
    pairs: dict[int, set[str]] = {}
    for item_id, text in db.execute(select(key, value)):
        pairs.setdefault(item_id, set()).add(text)
    return pairs


def _compare_row(item_id: int, expected: Expected, row: Item) -> list[str]:
    columns = {
        "envelope_sha256": expected.envelope_sha256,
        "content_sha256": expected.content_sha256,
        "metadata_sha256": expected.metadata_sha256,
        "status": expected.status,
        **expected.places,
        "incident_time": expected.when,
        "duplicate_of": expected.duplicate_of,
        "derived_from": expected.derived_from,
    }
    return [
        f"item {item_id}: {column} is {getattr(row, column)!r} in the catalogue, {value!r} in the custody log"
        for column, value in columns.items()
        if getattr(row, column) != value
    ]


def _compare_set(item_id: int, noun: str, expected: set[str], actual: set[str]) -> list[str]:
    return [
        f"item {item_id}: {noun} {value!r} is recorded in the custody log but missing from the catalogue"
        for value in sorted(expected - actual)
    ] + [
        f"item {item_id}: {noun} {value!r} is in the catalogue but no custody event records it"
        for value in sorted(actual - expected)
    ]


def _compare_notes(item_id: int, expected: Expected, notes: list[Note]) -> list[str]:
    found = []
    actual = {note.id: note for note in notes}
    for note_id in sorted(set(expected.notes) - set(actual)):
        found.append(f"item {item_id}: note {note_id} is recorded in the custody log but missing")
    for note_id in sorted(set(actual) - set(expected.notes)):
        found.append(f"item {item_id}: note {note_id} is in the catalogue but no custody event records it")
    for note_id in sorted(set(actual) & set(expected.notes)):
        actor, text_sha256 = expected.notes[note_id]
        note = actual[note_id]
        if note.actor != actor:
            found.append(f"item {item_id}: note {note_id}'s author is not the one the custody log records")
        if text_sha256 is not None and hashlib.sha256(note.text.encode()).hexdigest() != text_sha256:
            found.append(f"item {item_id}: note {note_id}'s text is not the one the custody log records")
    return found


def _rehash(item_id: int, expected: Expected, vault: Vault) -> list[str]:
    found = []
    for noun, digest in (
        ("envelope", expected.envelope_sha256),
        ("metadata envelope", expected.metadata_sha256),
    ):
        if not digest:
            continue
        if not vault.has(digest):
            found.append(f"item {item_id}: its {noun} {digest} is missing from the vault")
        elif file_sha256(vault.path(digest)) != digest:
            found.append(
                f"item {item_id}: the vault file of its {noun} {digest} does not hash to that "
                "(swapped or changed)"
            )
    return found
