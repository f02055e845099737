"""Replies from the station: import an outbox bundle, show replies to their source, delete them.

An outbox is refused unless it is signed by a pinned station key under `tamga/outbox/v1`, names
this server, and carries a sequence number above the last one imported from that station (the
very same outbox again changes nothing). Acknowledged envelopes are deleted from disk after the
database says so; a minimal row per submission stays so the source can see what arrived.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import CryptoError, X25519Identity, open_bytes
from crypto.bundle import BundleReader
from crypto.signing import SigningKey, VerifyKey
from submission.errors import OperatorError
from submission.models import CustodyHead, Envelope, Reply, Source, Submission, TrustedStation
from submission.store import EnvelopeStore, PendingEnvelope

CONTEXT = "tamga/outbox/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[0-9a-zA-Z_-]{1,64}")
MAX_REPLY_ENVELOPE = 1024 * 1024


class RepliesRefused(OperatorError):
    """An outbox that is refused whole; nothing of it is used."""


@dataclass
class Report:
    already_imported: bool = False
    replies: int = 0
    acknowledged: int = 0
    deleted_files: int = 0


def _valid_reply(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and bool(_HEX64.fullmatch(entry["sha256"]))
        and type(entry.get("size")) is int
        and 0 < entry["size"] <= MAX_REPLY_ENVELOPE
        and entry.get("kind") == "reply"
        and isinstance(entry.get("source"), str)
        and bool(_ID.fullmatch(entry["source"]))
        and type(entry.get("reply")) is int
    )


def _check(document: dict[str, Any], station: TrustedStation, server: SigningKey) -> None:
    if document.get("kind") != "outbox":
        raise RepliesRefused("this bundle is not an outbox from a review station")
    if document.get("receiver") != str(server.verify_key):
        raise RepliesRefused("this outbox is meant for another intake server")
    sequence = document.get("sequence")
    if type(sequence) is not int or sequence <= station.last_sequence:
        raise RepliesRefused(
            f"outbox sequence {sequence} is not above the last one imported ({station.last_sequence}): "
            "an old or replayed outbox"
        )
    acks, envelopes = document.get("acknowledged"), document.get("envelopes")
    if not isinstance(acks, list) or not all(isinstance(a, str) and _HEX64.fullmatch(a) for a in acks):
        raise RepliesRefused("outbox manifest is malformed: bad acknowledgements")
    if not isinstance(envelopes, list) or not all(_valid_reply(e) for e in envelopes):
        raise RepliesRefused("outbox manifest is malformed: bad reply entries")
    if len({e["sha256"] for e in envelopes}) != len(envelopes):
        raise RepliesRefused("outbox manifest lists the same reply twice")
    head, events = document.get("custody_head"), document.get("custody_events")
    if not isinstance(head, str) or not _HEX64.fullmatch(head) or type(events) is not int:
        raise RepliesRefused("outbox manifest is malformed: bad custody head")


def import_replies(db: Session, store: EnvelopeStore, server: SigningKey, path: Path) -> Report:
    trusted = [VerifyKey.parse(key) for key in db.scalars(select(TrustedStation.verify_key))]
    if not trusted:
        raise RepliesRefused("no review station key is pinned: run `tamga-intake trust-station` first")
    staged: list[tuple[dict[str, Any], PendingEnvelope]] = []
    with open(path, "rb") as src:
        reader = BundleReader(src)
        try:
            manifest = reader.manifest(CONTEXT, trusted)
            station = db.get(TrustedStation, str(manifest.signer))
            assert station is not None
            if manifest.digest == station.last_digest:
                return Report(already_imported=True)
            document = manifest.document
            _check(document, station, server)
            entries = {e["sha256"]: e for e in document["envelopes"]}
            for digest, stream in reader.envelopes({d: e["size"] for d, e in entries.items()}):
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
    return _apply(db, store, station, manifest.signer, manifest.digest, document, staged)


def _apply(
    db: Session,
    store: EnvelopeStore,
    station: TrustedStation,
    signer: VerifyKey,
    digest: str,
    document: dict[str, Any],
    staged: list[tuple[dict[str, Any], PendingEnvelope]],
) -> Report:
    report = Report()
    doomed: list[str] = []
    try:
        for entry, pending in staged:
            known = db.scalars(
                select(Reply.id).where(Reply.station == str(signer), Reply.station_reply == entry["reply"])
            ).first()
            if db.get(Source, entry["source"]) is None or known is not None:
                pending.discard()  # the source was purged, or the reply came before
                continue
            pending.commit()
            db.add(
                Reply(
                    source_id=entry["source"],
                    station=str(signer),
                    station_reply=entry["reply"],
                    storage_name=pending.name,
                )
            )
            report.replies += 1
        acked = list(db.scalars(select(Envelope).where(Envelope.sha256.in_(document["acknowledged"]))))
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
                sequence=document["sequence"],
                head=document["custody_head"],
                events=document["custody_events"],
            )
        )
        station.last_sequence = document["sequence"]
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


def read_replies(
    db: Session, store: EnvelopeStore, source_id: str, identity: X25519Identity
) -> list[dict[str, Any]]:
    """Decrypt a source's replies in memory for this request only. Warning: returns plaintext."""
    shown = []
    query = select(Reply).where(Reply.source_id == source_id, Reply.deleted.is_(False)).order_by(Reply.day)
    for reply in db.scalars(query):
        if reply.storage_name is None:
            continue
        try:
            text = open_bytes(store.path(reply.storage_name).read_bytes(), [identity]).decode(
                "utf-8", "replace"
            )
        except (CryptoError, OSError):
            text = None
        shown.append({"id": reply.id, "day": reply.day, "text": text})
    return shown


def delete_reply(db: Session, store: EnvelopeStore, source_id: str, reply_id: str) -> None:
    reply = db.get(Reply, reply_id)
    if reply is None or reply.source_id != source_id or reply.deleted:
        return
    name, reply.deleted, reply.storage_name = reply.storage_name, True, None
    db.commit()
    if name:
        store.shred(name)
