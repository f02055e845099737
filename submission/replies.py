"""Replies from the station, for `tamga-intake import-replies`: import an outbox bundle.

An outbox is refused unless it is signed by a pinned station key under `tamga/outbox/v1`, names
this server, and carries a sequence number above the last one imported from that station (the
very same outbox again changes nothing); its manifest is checked by crypto/manifests/outbox.py.
Acknowledged envelopes are deleted from disk after the database says so; a minimal row per
submission stays so the source can see what arrived. The web's side is submission/source_home.py.
"""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import CryptoError
from crypto.bundle import BundleReader
from crypto.manifests.outbox import CONTEXT, OutboxEntry, OutboxManifest
from crypto.signing import SigningKey, VerifyKey
from submission.errors import OperatorError
from submission.models import CustodyHead, Envelope, Reply, Source, Submission, TrustedStation
from submission.store import EnvelopeStore, PendingEnvelope


class RepliesRefused(OperatorError):
    """An outbox that is refused whole; nothing of it is used."""


@dataclass
class Report:
    already_imported: bool = False
    replies: int = 0
    acknowledged: int = 0
    deleted_files: int = 0


def import_replies(db: Session, store: EnvelopeStore, server: SigningKey, path: Path) -> Report:
    trusted = [VerifyKey.parse(key) for key in db.scalars(select(TrustedStation.verify_key))]
    if not trusted:
        raise RepliesRefused("no review station key is pinned: run `tamga-intake trust-station` first")
    staged: list[tuple[OutboxEntry, PendingEnvelope]] = []
    with open(path, "rb") as src:
        reader = BundleReader(src)
        try:
            manifest = reader.manifest(CONTEXT, trusted)
            station = db.get(TrustedStation, str(manifest.signer))
            assert station is not None
            if manifest.digest == station.last_digest:
                return Report(already_imported=True)
            outbox = OutboxManifest.parse(manifest.document, str(server.verify_key), station.last_sequence)
            entries = {entry.sha256: entry for entry in outbox.envelopes}
            for digest, stream in reader.envelopes(outbox.member_sizes()):
                pending = store.new()
                staged.append((entries[digest], pending))
                while block := stream.read():
                    pending.file.write(block)
                stream.finish()
                pending.sync()
        except CryptoError as error:
            for _, pending in staged:
                pending.discard()
            raise RepliesRefused(str(error)) from None
        except BaseException:
            for _, pending in staged:
                pending.discard()
            raise
    return _apply(db, store, station, manifest.signer, manifest.digest, outbox, staged)


def _apply(
    db: Session,
    store: EnvelopeStore,
    station: TrustedStation,
    signer: VerifyKey,
    digest: str,
    outbox: OutboxManifest,
    staged: list[tuple[OutboxEntry, PendingEnvelope]],
) -> Report:
    report = Report()
    doomed: list[str] = []
    try:
        for entry, pending in staged:
            known = db.scalars(
                select(Reply.id).where(Reply.station == str(signer), Reply.station_reply == entry.reply)
            ).first()
            if db.get(Source, entry.source) is None or known is not None:
                pending.discard()  # the source was purged, or the reply came before
                continue
            pending.commit()
            db.add(
                Reply(
                    source_id=entry.source,
                    station=str(signer),
                    station_reply=entry.reply,
                    storage_name=pending.name,
                )
            )
            report.replies += 1
        acked = list(db.scalars(select(Envelope).where(Envelope.sha256.in_(outbox.acknowledged))))
        touched = {envelope.submission_id for envelope in acked}
        for envelope in acked:
            doomed.append(envelope.storage_name)
            db.delete(envelope)
        db.flush()
        for submission in db.scalars(select(Submission).where(Submission.id.in_(touched))):
            remaining = db.scalar(
                select(func.count()).select_from(Envelope).where(Envelope.submission_id == submission.id)
            )
            submission.acknowledged = remaining == 0
        report.acknowledged = len(acked)
        db.add(
            CustodyHead(
                station=str(signer),
                sequence=outbox.sequence,
                head=outbox.custody_head,
                events=outbox.custody_events,
            )
        )
        station.last_sequence = outbox.sequence
        station.last_digest = digest
        db.commit()
    except BaseException:
        db.rollback()
        for _, pending in staged:
            pending.discard()
            pending.unlink_committed()
        raise
    for name in doomed:  # after the commit: a crash here leaves ciphertext, never a dangling row
        store.shred(name)
        report.deleted_files += 1
    return report
