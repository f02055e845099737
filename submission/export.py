"""Export: write sealed envelopes not yet exported into signed bundles for the review station.

Envelopes are marked exported only after their bundle is fsynced and in place; nothing is deleted.
A sequence number is reserved (committed) before a bundle is written, so a crash can only skip a
number, never reuse one for different content.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto import is_post_quantum
from crypto.bundle import sealed_manifest_size, tar_size, write_bundle
from crypto.files import atomic_new_file
from crypto.manifests.export import CONTEXT as CONTEXT  # re-exported: tests sign bundles under it
from crypto.manifests.export import ExportEntry, ExportManifest
from crypto.signing import SigningKey, canonical_json
from submission.errors import OperatorError
from submission.models import Counter, Envelope, Submission, today
from submission.settings import Settings
from submission.store import EnvelopeStore

_SEQUENCE = "export"


class ExportError(OperatorError):
    """An export that cannot be written; the message says why."""


@dataclass(frozen=True)
class Entry:
    envelope_id: str
    path: Path
    listed: ExportEntry  # its entry in the manifest


def _entries(db: Session, store: EnvelopeStore, everything: bool) -> list[Entry]:
    query = select(Envelope).join(Submission).order_by(Submission.day, Submission.id, Envelope.item)
    if not everything:
        query = query.where(Envelope.exported.is_(False))
    entries = []
    for envelope in db.scalars(query):
        path = store.path(envelope.storage_name)
        digest = hashlib.sha256()
        with open(path, "rb") as src:
            while block := src.read(1 << 20):
                digest.update(block)
        submission = envelope.submission
        entries.append(
            Entry(
                envelope.id,
                path,
                ExportEntry(
                    sha256=digest.hexdigest(),
                    size=path.stat().st_size,
                    kind=envelope.kind,
                    submission=submission.id,
                    item=envelope.item,
                    source=submission.source_id,
                    reply_recipient=submission.source.reply_recipient,
                    received=submission.day,
                ),
            )
        )
    return entries


def _manifest(settings: Settings, key: SigningKey, sequence: int, entries: list[Entry]) -> ExportManifest:
    return ExportManifest(
        sender=key.verify_key.key_id,
        receivers=tuple(sorted(str(r) for r in settings.recipients)),
        sequence=sequence,
        created=today(),
        envelopes=tuple(e.listed for e in entries),
    )


_MANIFEST_BASE = 2048  # the document's fixed fields and the signature, generously


def _bundle_size(settings: Settings, manifest_entries: int, sizes: list[int]) -> int:
    # The receivers field lists every recipient: ~2,000 characters each for a hybrid one.
    document = manifest_entries + sum(len(str(r)) + 3 for r in settings.recipients)
    post_quantum = any(is_post_quantum(r) for r in settings.recipients)
    return tar_size(sealed_manifest_size(document, len(settings.recipients), post_quantum), sizes)


def _units(entries: list[Entry]) -> list[list[Entry]]:
    """A file's content and metadata envelopes travel together: the station pairs them per bundle."""
    units: dict[tuple[str, int], list[Entry]] = {}
    for entry in entries:
        units.setdefault((entry.listed.submission, entry.listed.item), []).append(entry)
    return list(units.values())


def _split(settings: Settings, entries: list[Entry], max_size: int | None) -> Iterator[list[Entry]]:
    """Group entries so that each bundle stays under max_size (whole items only)."""
    if max_size is None:
        yield entries
        return
    group: list[Entry] = []
    manifest, sizes = _MANIFEST_BASE, list[int]()
    for unit in _units(entries):
        unit_manifest = sum(len(canonical_json(entry.listed.to_json())) + 1 for entry in unit)
        unit_sizes = [entry.listed.size for entry in unit]
        if group and _bundle_size(settings, manifest + unit_manifest, sizes + unit_sizes) > max_size:
            yield group
            group, manifest, sizes = [], _MANIFEST_BASE, []
        group += unit
        manifest += unit_manifest
        sizes += unit_sizes
        if _bundle_size(settings, manifest, sizes) > max_size:
            raise ExportError(f"an item of {sum(unit_sizes)} bytes does not fit in --max-size")
    yield group


def _next_sequence(db: Session) -> int:
    counter = db.get(Counter, _SEQUENCE, with_for_update=True)
    if counter is None:
        counter = Counter(name=_SEQUENCE, value=0)
        db.add(counter)
    counter.value += 1
    db.commit()
    return counter.value


def bundle_paths(out: Path, count: int) -> list[Path]:
    """out, then out-2, out-3 ... before the suffix."""
    return [out] + [out.with_name(f"{out.stem}-{n}{out.suffix}") for n in range(2, count + 1)]


def export(
    db: Session,
    settings: Settings,
    key: SigningKey,
    out: Path,
    max_size: int | None = None,
    everything: bool = False,
) -> list[tuple[Path, int]]:
    """Write one or more bundles; return (path, envelope count) for each."""
    store = EnvelopeStore(settings.store_dir, 0)
    groups = list(_split(settings, _entries(db, store, everything), max_size))
    paths = bundle_paths(out, len(groups))
    for path in paths:
        if path.exists():
            raise ExportError(f"{path} already exists: refusing to overwrite it")
    written = []
    for path, group in zip(paths, groups, strict=True):
        sequence = _next_sequence(db)
        manifest = _manifest(settings, key, sequence, group).encode(key, list(settings.recipients))
        with atomic_new_file(path, direct=True) as dst:
            write_bundle(dst, manifest, ((e.listed.sha256 + ".age", e.path) for e in group))
        for entry in group:
            db.execute(
                update(Envelope)
                .where(Envelope.id == entry.envelope_id)
                .values(exported=True, sha256=entry.listed.sha256)
            )
        db.commit()
        written.append((path, len(group)))
    return written
