"""Reading the catalogue: list, show and extract items. Plaintext is produced only on demand."""

import json
import os
import unicodedata
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crypto import open_chunks
from crypto.files import atomic_new_file
from review import custody
from review.errors import ItemNotFound, ReviewError
from review.models import Item
from review.station import Keys, Station
from review.vault import Vault

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Bidirectional overrides and isolates: they can make text display in a misleading order.
_BIDI = {
    chr(c) for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F)
}


def get_item(db: Session, item_id: int) -> Item:
    item = db.get(Item, item_id)
    if item is None:
        raise ItemNotFound(item_id)
    return item


def as_dict(item: Item, db: Session | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {
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
        "media": json.loads(item.media) if item.media else None,
        "identifying_metadata": item.identifying.split(",") if item.identifying else [],
        "duplicate_of": item.duplicate_of,
    }
    if db is not None:
        from review.catalogue import incidents_of, tags_of

        facts["incidents"] = incidents_of(db, item.id)
        facts["tags"] = tags_of(db, item.id)
    return facts


def neutralise(text: str) -> str:
    """Make control and bidi-override characters visible as \\u escapes; keep newlines and tabs."""
    out = []
    for char in text:
        if char in "\n\t":
            out.append(char)
        elif char in _BIDI or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co"):
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def read_message(station: Station, db: Session, keys: Keys, item: Item, actor: str) -> str:
    """Decrypt a message in memory; the opening is a custody event."""
    if item.kind != "message":
        raise ReviewError(f"item {item.id} is a file, not a message: use extract")
    if item.status == "undecryptable":
        raise ReviewError(f"item {item.id} is quarantined: its envelope does not open")
    parts, size = [], 0
    with Vault(station.vault_dir).open(item.envelope_sha256) as src:
        for chunk in open_chunks(src, [keys.identity]):
            size += len(chunk)
            if size > MAX_MESSAGE_BYTES:
                raise ReviewError(f"item {item.id} is too large to show as a message: use extract")
            parts.append(chunk)
    custody.record(
        db,
        keys.signing,
        "opened",
        f"item:{item.id}",
        actor,
        {"envelope_sha256": item.envelope_sha256, "content_sha256": item.content_sha256 or ""},
    )
    db.commit()
    return neutralise(b"".join(parts).decode("utf-8", "replace"))


def extract(station: Station, db: Session, keys: Keys, item: Item, out: Path, actor: str) -> int:
    """Write the original bytes to out, only after the envelope's final check; never overwrite."""
    if item.status == "undecryptable":
        raise ReviewError(f"item {item.id} is quarantined: its envelope does not open")
    if os.path.lexists(out):
        raise ReviewError(f"{out} already exists: refusing to overwrite it")
    size = 0
    with atomic_new_file(out) as dst, Vault(station.vault_dir).open(item.envelope_sha256) as src:
        for chunk in open_chunks(src, [keys.identity]):
            dst.write(chunk)
            size += len(chunk)
    custody.record(
        db,
        keys.signing,
        "extracted",
        f"item:{item.id}",
        actor,
        {"envelope_sha256": item.envelope_sha256, "content_sha256": item.content_sha256 or ""},
        {"to": str(out.resolve())},
    )
    db.commit()
    return size
