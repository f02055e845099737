"""Import a transfer bundle: verify all of it, then vault, open and catalogue each envelope.

Bundle-level faults (signer, receiver, sequence, hashes, sizes, tar or manifest) refuse the whole
bundle: nothing reaches the vault or the catalogue. Envelope-level faults (an envelope that does
not open, a payload that fails) quarantine that item as `undecryptable`, and the rest imports.
Importing the same bundle again changes nothing.
"""

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError, open_bytes, open_chunks
from crypto.bundle import BundleReader, Manifest, MemberStream
from crypto.errors import BundleError
from crypto.manifests.export import CONTEXT, ExportManifest
from crypto.manifests.export import ExportEntry as Entry
from crypto.signing import VerifyKey
from review import catalogue, custody, items, media, pipeline
from review.errors import ImportRefused, NoServerPinned
from review.models import ImportedBundle, TrustedServer, VaultEnvelope
from review.pipeline import Runner
from review.station import Keys, Station
from review.vault import Staging, Vault, lazy_private_copy

MAX_METADATA_ENVELOPE = 64 * 1024
Progress = Callable[[int, int], None]


@dataclass
class Report:
    bundle: str
    already_imported: bool = False
    items: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    skipped: int = 0


def _parse_manifest(db: Session, station: Station, manifest: Manifest, known: bool) -> ExportManifest:
    """A bundle already imported is read through again but not checked against the sequence."""
    if known:
        return ExportManifest.parse(manifest.document)
    pinned = db.get(TrustedServer, str(manifest.signer))
    assert pinned is not None
    return ExportManifest.parse(manifest.document, str(station.recipient), pinned.last_sequence)


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


# What opening an envelope gave: its content, or why it failed, or (with the import's worker still
# hashing) how to tell its content once the worker is done.
Opened = media.Content | str | Callable[[], media.Content]


def _open_content(path: Path, keys: Keys, kind: str) -> Opened:
    """Open an envelope already in the vault (a fallback: imports open while staging)."""
    with open(path, "rb") as src:
        chunks = open_chunks(src, [keys.identity])
        try:
            if kind != "file":
                return media.examine(chunks, None)
            with lazy_private_copy() as copy:
                return media.examine(chunks, copy)
        except CryptoError as error:
            return type(error).__name__


def _receive(
    staging: Staging, digest: str, stream: MemberStream, keys: Keys, kind: str, worker: Runner
) -> Opened:
    """Stage an envelope and open it in the same read: hash the ciphertext, decrypt, hash the plaintext.

    The ciphertext's hash is checked before a file is probed: a member that does not match its
    manifest refuses the whole bundle (BundleError), it is never quarantined. Only a file copied
    to be probed waits for the worker here; any other's content is told after the last envelope.
    """
    with contextlib.ExitStack() as stack:
        copy = stack.enter_context(lazy_private_copy()) if kind == "file" else None
        failure = ""
        with staging.receive(digest, stream) as reader:
            try:
                measured = media.read_through(open_chunks(reader, [keys.identity]), copy, worker)
            except BundleError:
                raise
            except CryptoError as error:
                failure = type(error).__name__
        stream.finish()
        if failure:
            return failure
        if copy is not None and copy.made:  # probed now, while the copy exists: it must be whole
            worker.wait()
            return media.conclude(measured(), copy)
        return lambda: media.conclude(measured(), copy)


def _catalogue(
    db: Session,
    keys: Keys,
    staging: Staging,
    entries: list[Entry],
    opened: dict[str, Opened],
    bundle: str,
    actor: str,
    report: Report,
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
        content = opened.get(entry.sha256) or _open_content(staging.location(entry.sha256), keys, kind)
        if callable(content):  # the import's worker has finished: import_bundle left its block
            content = content()
        if isinstance(content, str):
            quarantined = catalogue.quarantine(db, keys.signing, actor, arrival, content)
            report.quarantined.append(quarantined.id)
        else:
            report.items.append(catalogue.add_item(db, keys.signing, actor, arrival, content).id)


def import_bundle(
    station: Station, db: Session, keys: Keys, path: Path, actor: str, progress: Progress | None = None
) -> Report:
    """Import one bundle file; raise ImportRefused (nothing imported) on any bundle-level fault."""
    trusted = [VerifyKey.parse(key) for key in db.scalars(select(TrustedServer.verify_key))]
    if not trusted:
        raise NoServerPinned("no intake server key is pinned: run `tamga-review trust-server KEY` first")
    vault = Vault(station.vault_dir)
    with open(path, "rb") as src:
        reader = BundleReader(src)
        try:
            manifest = reader.manifest(CONTEXT, trusted, [keys.identity])
            # The same bundle again changes nothing, but is still read through: an altered copy
            # of an imported bundle is refused like any other.
            known = db.get(ImportedBundle, manifest.digest) is not None
            export = _parse_manifest(db, station, manifest, known)
        except CryptoError as error:
            raise ImportRefused(str(error)) from None
        entries = list(export.envelopes)
        sizes = export.member_sizes()
        total = sum(sizes.values())
        staging = None if known else vault.staging()
        # Only what will be catalogued is opened as it is staged; metadata is small, read after.
        to_open = {
            e.sha256: "file" if e.kind == "file-content" else "message"
            for e in entries
            if e.kind != "file-metadata" and not items.is_catalogued(db, e.sha256)
        }
        opened: dict[str, Opened] = {}
        try:
            done = 0
            hasher = pipeline.hasher()
            with pipeline.runner() as worker, hasher or contextlib.nullcontext():
                for digest, stream in reader.envelopes(sizes, hasher):
                    if staging is None or vault.has(digest):
                        stream.finish()
                    elif digest in to_open:
                        opened[digest] = _receive(staging, digest, stream, keys, to_open[digest], worker)
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
        custody.record(
            db,
            keys.signing,
            "exported",
            f"bundle:{manifest.digest}",
            f"server:{manifest.signer.key_id}",
            {"manifest_sha256": manifest.digest},
            {
                "sequence": export.sequence,
                "created": export.created.isoformat(),
                "envelopes": len(entries),
            },
        )
        _catalogue(db, keys, staging, entries, opened, manifest.digest, actor, report)
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
                sequence=export.sequence,
                envelopes=len(entries),
            )
        )
        pinned = db.get(TrustedServer, str(manifest.signer))
        assert pinned is not None
        pinned.last_sequence = export.sequence
        staging.commit()  # envelopes reach the vault before the rows that name them
        db.commit()
    except BaseException:
        db.rollback()
        staging.discard()
        raise
    return report
