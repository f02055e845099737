"""Retention: remove what no longer needs to exist, and say what was removed.

Acknowledged submissions older than the cut-off lose their rows; replies deleted by sources or
older than the cut-off go; sources with nothing left go. Unacknowledged envelopes (evidence the
reviewers have not confirmed) are never purged unless explicitly asked.
"""

import datetime
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from submission.models import Envelope, Reply, Source, Submission, today
from submission.store import EnvelopeStore


@dataclass
class Purged:
    submissions: int = 0
    replies: int = 0
    sources: int = 0
    unacknowledged_submissions: int = 0
    unacknowledged_envelopes: int = 0


def purge(
    db: Session, store: EnvelopeStore, older_than_days: int, include_unacknowledged: bool = False
) -> Purged:
    cutoff = today() - datetime.timedelta(days=older_than_days)
    purged = Purged()
    doomed: list[str] = []

    for reply in db.scalars(select(Reply).where((Reply.deleted.is_(True)) | (Reply.day < cutoff))):
        if reply.storage_name:
            doomed.append(reply.storage_name)
        db.delete(reply)
        purged.replies += 1

    old = select(Submission).where(Submission.day < cutoff)
    for submission in db.scalars(old.where(Submission.acknowledged.is_(True))):
        db.delete(submission)
        purged.submissions += 1
    if include_unacknowledged:
        for submission in db.scalars(old.where(Submission.acknowledged.is_(False))):
            doomed.extend(envelope.storage_name for envelope in submission.envelopes)
            purged.unacknowledged_envelopes += len(submission.envelopes)
            db.delete(submission)
            purged.unacknowledged_submissions += 1
    db.flush()

    orphaned = select(Source).where(
        ~exists().where(Submission.source_id == Source.id), ~exists().where(Reply.source_id == Source.id)
    )
    for source in db.scalars(orphaned):
        db.delete(source)
        purged.sources += 1
    db.commit()
    for name in doomed:
        store.shred(name)
    return purged


def unacknowledged_older_than(db: Session, older_than_days: int) -> int:
    cutoff = today() - datetime.timedelta(days=older_than_days)
    return len(
        db.scalars(
            select(Envelope.id)
            .join(Submission)
            .where(Submission.day < cutoff, Submission.acknowledged.is_(False))
        ).all()
    )
