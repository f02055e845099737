"""An item's plaintext bound to its custody: both hashes checked against the record signed at import.

show, extract, derive and package read evidence only through plaintext(), so a vault file swapped
for another envelope sealed to the station (or a catalogue hash edited to match one) is refused.
The envelope is hashed as it is decrypted (a damaged one fails decryption first, with its own
error); both hashes are known only at the end, so callers keep what they write provisional until
the iterator finishes.
"""

import hashlib
from collections.abc import Iterator
from typing import BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import open_chunks
from review import custody
from review.errors import EvidenceMismatch, ReviewError
from review.models import CustodyEvent, Item
from review.station import Keys, Station
from review.vault import Hashing, Vault, file_sha256

# The events that bring an item into the catalogue; their hashes are the item's for good.
CREATING = ("imported", "quarantined", "derived")


def recorded_hashes(db: Session, station: Station, item: Item) -> dict[str, str]:
    """The hashes signed when the item was catalogued; refuse if the catalogue's columns differ."""
    obj = f"item:{item.id}"
    row = db.scalars(
        select(CustodyEvent).where(CustodyEvent.object == obj).order_by(CustodyEvent.seq).limit(1)
    ).first()
    unsigned = EvidenceMismatch(f"item {item.id}: no signed custody record of its import")
    if row is None:
        raise unsigned
    body = custody.signed_body(row, station.verify_key)
    if body.get("object") != obj or body.get("action") not in CREATING:
        raise unsigned
    hashes = {key: str(value) for key, value in body.get("hashes", {}).items()}
    for key, column in (("envelope_sha256", item.envelope_sha256), ("content_sha256", item.content_sha256)):
        if hashes.get(key) != column:
            raise EvidenceMismatch(
                f"item {item.id}: the catalogue's {key} is not the one signed at import (event {row.seq})"
            )
    return hashes


def check_envelope(station: Station, db: Session, item: Item) -> None:
    """Without decrypting (no passphrase): the vault file is the envelope signed at import."""
    hashes = recorded_hashes(db, station, item)
    vault = _vault_holding(station, item)
    if file_sha256(vault.path(item.envelope_sha256)) != hashes["envelope_sha256"]:
        raise _swapped(item)


def plaintext(station: Station, db: Session, keys: Keys, item: Item) -> Iterator[bytes]:
    """Decrypt the item chunk by chunk; raise EvidenceMismatch, at the latest after the last chunk.

    Warning: yields the source's plaintext; write nothing final until the iterator has ended.
    """
    if item.status == "undecryptable" or item.content_sha256 is None:
        raise ReviewError(f"item {item.id} is quarantined: its envelope does not open")
    hashes = recorded_hashes(db, station, item)
    content, size = hashlib.sha256(), 0
    with _vault_holding(station, item).open(item.envelope_sha256) as raw:
        envelope = Hashing(raw)
        for chunk in open_chunks(cast(BinaryIO, envelope), [keys.identity]):
            size += len(chunk)
            if item.size is not None and size > item.size:
                break
            content.update(chunk)
            yield chunk
        while envelope.read(1 << 20):  # the rest of the file, read or not by the decryption
            pass
    if envelope.digest.hexdigest() != hashes["envelope_sha256"]:
        raise _swapped(item)
    if content.hexdigest() != hashes["content_sha256"] or (item.size is not None and size != item.size):
        raise _altered(item)


def _vault_holding(station: Station, item: Item) -> Vault:
    vault = Vault(station.vault_dir)
    if not vault.has(item.envelope_sha256):
        raise EvidenceMismatch(f"item {item.id}: its envelope is missing from the vault")
    return vault


def _swapped(item: Item) -> EvidenceMismatch:
    return EvidenceMismatch(
        f"item {item.id}: the vault file is not the envelope recorded at import (swapped or changed)"
    )


def _altered(item: Item) -> EvidenceMismatch:
    return EvidenceMismatch(f"item {item.id}: the decrypted file does not match the hash recorded at import")
