"""The source's own page: what arrived (by day), how many replies wait, replies shown and deleted.

The web's side of replies (the outbox import is submission/replies.py): the views call these and
query nothing themselves.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import CryptoError, X25519Identity, open_bytes
from submission.models import Reply, Submission
from submission.store import EnvelopeStore


@dataclass(frozen=True)
class Home:
    submitted: list[tuple[datetime.date, bool]]  # (day, acknowledged) per submission, oldest first
    waiting: int  # replies not deleted


def home(db: Session, source_id: str) -> Home:
    submitted = db.execute(
        select(Submission.day, Submission.acknowledged)
        .where(Submission.source_id == source_id)
        .order_by(Submission.day)
    ).all()
    waiting = db.scalar(
        select(func.count()).select_from(Reply).where(Reply.source_id == source_id, Reply.deleted.is_(False))
    )
    return Home([(day, acknowledged) for day, acknowledged in submitted], waiting or 0)


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
