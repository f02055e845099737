"""Import a transfer bundle: verify all of it, then vault, open and catalogue each envelope.

Bundle-level faults (signer, receiver, sequence, hashes, sizes, tar or manifest) refuse the whole
bundle: nothing reaches the vault or the catalogue. Envelope-level faults (an envelope that does
not open, a payload that fails) quarantine that item as `undecryptable`, and the rest imports.
Importing the same bundle again changes nothing.
"""

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError, KeyFormatError, X25519Recipient, open_bytes, open_chunks
from crypto.bundle import BundleReader
from crypto.signing import VerifyKey
from review import catalogue, custody, items, media
from review.errors import ImportRefused
from review.models import ImportedBundle, TrustedServer, VaultEnvelope
from review.station import Keys, Station
from review.vault import Staging, Vault, private_copy

CONTEXT = "tamga/export/v1"
KINDS = ("file-content", "file-metadata", "message")
MAX_METADATA_ENVELOPE = 64 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[0-9a-zA-Z_-]{1,64}")
Progress = Callable[[int, int], None]


@dataclass
class Report:
    bundle: str
    already_imported: bool = False
    items: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    skipped: int = 0


@dataclass(frozen=True)
class Entry:
    sha256: str
    size: int
    kind: str
    submission: str
    item: int
    source: str
    reply_recipient: str
    received: datetime.date


def _entry(raw: Any) -> Entry:
    try:
        entry = Entry(
            sha256=raw["sha256"],
            size=raw["size"],
            kind=raw["kind"],
            submission=raw["submission"],
            item=raw["item"],
            source=raw["source"],
            reply_recipient=raw["reply_recipient"],
            received=datetime.date.fromisoformat(raw["received"]),
        )
        valid = (
            isinstance(entry.sha256, str)
            and _HEX64.fullmatch(entry.sha256)
            and isinstance(entry.size, int)
            and not isinstance(entry.size, bool)
            and entry.size >= 0
            and entry.kind in KINDS
            and isinstance(entry.submission, str)
            and _ID.fullmatch(entry.submission)
            and isinstance(entry.item, int)
            and not isinstance(entry.item, bool)
            and entry.item >= 0
            and isinstance(entry.source, str)
            and _ID.fullmatch(entry.source)
        )
        X25519Recipient.parse(entry.reply_recipient)
    except (KeyError, TypeError, ValueError, KeyFormatError):
        valid = False
    if not valid:
        raise ImportRefused("bundle manifest is malformed: an envelope entry is invalid")
    return entry


def _check_manifest(
    db: Session, station: Station, document: dict[str, Any], signer: VerifyKey
) -> list[Entry]:
    if document.get("kind") != "export":
        raise ImportRefused("bundle is not an export from an intake server")
    receivers = document.get("receivers")
    if not isinstance(receivers, list) or str(station.recipient) not in receivers:
        raise ImportRefused("bundle is meant for another station")
    sequence = document.get("sequence")
    pinned = db.get(TrustedServer, str(signer))
    assert pinned is not None
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence <= pinned.last_sequence:
        raise ImportRefused(
            f"bundle sequence {sequence} is not above the last one imported ({pinned.last_sequence}): "
            "an old or replayed bundle"
        )
    raw = document.get("envelopes")
    if not isinstance(raw, list):
        raise ImportRefused("bundle manifest is malformed: no envelope list")
    entries = [_entry(e) for e in raw]
    if len({e.sha256 for e in entries}) != len(entries):
        raise ImportRefused("bundle manifest lists the same envelope twice")
    return entries


def _metadata(path: Path, keys: Keys) -> tuple[str | None, str | None]:
    if path.stat().st_size > MAX_METADATA_ENVELOPE:
        return None, None
    try:
        data = json.loads(open_bytes(path.read_bytes(), [keys.identity]))
    except (CryptoError, ValueError, RecursionError):  # hostile metadata costs its item a name only
        return None, None
    if not isinstance(data, dict):
        return None, None
    name, kind = data.get("name"), data.get("type")
    return (name if isinstance(name, str) else None), (kind if isinstance(kind, str) else None)


def _open_content(path: Path, keys: Keys, kind: str) -> media.Content:
    """Hash and measure the content as it is decrypted; a file's media is probed. CryptoError if it fails."""
    with open(path, "rb") as src:
        chunks = open_chunks(src, [keys.identity])
        if kind != "file":
            return media.examine(chunks, None)
        with private_copy() as copy:
            return media.examine(chunks, copy)


def _catalogue(
    db: Session, keys: Keys, staging: Staging, entries: list[Entry], bundle: str, actor: str, report: Report
) -> None:
    metadata = {(e.submission, e.item): e for e in entries if e.kind == "file-metadata"}
    for entry in entries:
        if entry.kind == "file-metadata":
            continue
        if items.is_catalogued(db, entry.sha256):
            report.skipped += 1
            continue
        kind = "file" if entry.kind == "file-content" else "message"
        meta = metadata.get((entry.submission, entry.item)) if kind == "file" else None
        name, declared_type = _metadata(staging.location(meta.sha256), keys) if meta else (None, None)
        arrival = catalogue.Arrival(
            kind=kind,
            envelope_sha256=entry.sha256,
            envelope_size=entry.size,
            submission=entry.submission,
            item_no=entry.item,
            source_id=entry.source,
            reply_recipient=entry.reply_recipient,
            received=entry.received,
            bundle=bundle,
            metadata_sha256=meta.sha256 if meta else None,
            original_name=name,
            declared_type=declared_type,
        )
        try:
            content = _open_content(staging.location(entry.sha256), keys, kind)
        except CryptoError as error:
            quarantined = catalogue.quarantine(db, keys.signing, actor, arrival, type(error).__name__)
            report.quarantined.append(quarantined.id)
        else:
            report.items.append(catalogue.add_item(db, keys.signing, actor, arrival, content).id)


def import_bundle(
    station: Station, db: Session, keys: Keys, path: Path, actor: str, progress: Progress | None = None
) -> Report:
    """Import one bundle file; raise ImportRefused (nothing imported) on any bundle-level fault."""
    trusted = [VerifyKey.parse(key) for key in db.scalars(select(TrustedServer.verify_key))]
    if not trusted:
        raise ImportRefused("no intake server key is pinned: run `tamga-review trust-server KEY` first")
    vault = Vault(station.vault_dir)
    with open(path, "rb") as src:
        reader = BundleReader(src)
        try:
            manifest = reader.manifest(CONTEXT, trusted, [keys.identity])
        except CryptoError as error:
            raise ImportRefused(str(error)) from None
        # The same bundle again changes nothing, but is still read through: an altered copy of
        # an imported bundle is refused like any other.
        known = db.get(ImportedBundle, manifest.digest) is not None
        if known:
            entries = [_entry(raw) for raw in manifest.document.get("envelopes", [])]
        else:
            entries = _check_manifest(db, station, manifest.document, manifest.signer)
        sizes = {entry.sha256: entry.size for entry in entries}
        total = sum(sizes.values())
        staging = None if known else vault.staging()
        try:
            done = 0
            for digest, stream in reader.envelopes(sizes):
                if staging is None or vault.has(digest):
                    stream.finish()
                else:
                    staging.write(digest, stream)
                done += sizes[digest]
                if progress:
                    progress(done, total)
        except CryptoError as error:
            if staging is not None:
                staging.discard()
            raise ImportRefused(str(error)) from None
        except BaseException:
            if staging is not None:
                staging.discard()
            raise
    if staging is None:
        return Report(manifest.digest, already_imported=True)
    report = Report(manifest.digest)
    try:
        document = manifest.document
        custody.record(
            db,
            keys.signing,
            "exported",
            f"bundle:{manifest.digest}",
            f"server:{manifest.signer.key_id}",
            {"manifest_sha256": manifest.digest},
            {
                "sequence": document["sequence"],
                "created": str(document.get("created")),
                "envelopes": len(entries),
            },
        )
        _catalogue(db, keys, staging, entries, manifest.digest, actor, report)
        for entry in entries:
            if db.get(VaultEnvelope, entry.sha256) is None:
                db.add(
                    VaultEnvelope(
                        sha256=entry.sha256, size=entry.size, kind=entry.kind, server=str(manifest.signer)
                    )
                )
        db.add(
            ImportedBundle(
                digest=manifest.digest,
                signer=str(manifest.signer),
                sequence=document["sequence"],
                envelopes=len(entries),
            )
        )
        pinned = db.get(TrustedServer, str(manifest.signer))
        assert pinned is not None
        pinned.last_sequence = document["sequence"]
        staging.commit()  # envelopes reach the vault before the rows that name them
        db.commit()
    except BaseException:
        db.rollback()
        staging.discard()
        raise
    return report
