"""The chain of custody: an append-only log of signed, hash-chained events.

Each event's record is a signed document (context tamga/custody/v1) holding its sequence number,
the hash of the previous record, what happened, to which object, its hashes, when, and a
self-declared actor label (not authenticated: anyone at the station can type any name).
Verification needs only the station's public verify key. A truncated log still verifies on its
own: compare `custody head` with a head kept elsewhere (the outbox carries it to the server).
"""

import datetime
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import CryptoError
from crypto.signing import SigningKey, VerifyKey, sign_document, verify_document
from review.errors import CustodyBroken
from review.models import CustodyEvent

CONTEXT = "tamga/custody/v1"
GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    seq: int
    hash: str
    body: dict[str, Any]


def _last(db: Session) -> CustodyEvent | None:
    return db.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc()).limit(1)).first()


def record(
    db: Session,
    key: SigningKey,
    action: str,
    obj: str,
    actor: str,
    hashes: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> Event:
    """Append one event in the caller's transaction (so it commits or rolls back with the change)."""
    last = _last(db)
    seq = (last.seq + 1) if last else 1
    body: dict[str, Any] = {
        "seq": seq,
        "prev": last.hash if last else GENESIS,
        "action": action,
        "object": obj,
        "hashes": hashes or {},
        "details": details or {},
        "actor": actor,
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    signed = sign_document(key, CONTEXT, body)
    digest = hashlib.sha256(signed).hexdigest()
    db.add(CustodyEvent(seq=seq, record=signed.decode("utf-8"), hash=digest, object=obj))
    db.flush()
    return Event(seq, digest, body)


def head(db: Session) -> str:
    last = _last(db)
    return last.hash if last else GENESIS


def signed_body(row: CustodyEvent, verify_key: VerifyKey) -> dict[str, Any]:
    """The event's record, only if the station's key signed it; the columns beside it are not trusted."""
    try:
        _, body = verify_document(row.record.encode("utf-8"), CONTEXT, [verify_key])
    except CryptoError:
        raise CustodyBroken(f"custody log broken at event {row.seq}: its signature does not verify") from None
    return dict(body)


def _checked(db: Session, verify_key: VerifyKey, count: int, previous: str) -> Iterator[str]:
    """Check, in order, each event after the first `count` (which end in hash `previous`); yield each hash."""
    for row in db.scalars(select(CustodyEvent).where(CustodyEvent.seq > count).order_by(CustodyEvent.seq)):
        count += 1
        body = signed_body(row, verify_key)
        digest = hashlib.sha256(row.record.encode("utf-8")).hexdigest()
        if body.get("seq") != count or row.seq != count:
            raise CustodyBroken(f"custody log broken at event {row.seq}: an event is missing or out of order")
        if body.get("prev") != previous:
            raise CustodyBroken(
                f"custody log broken at event {row.seq}: it does not follow the event before it"
            )
        if row.hash != digest:
            raise CustodyBroken(f"custody log broken at event {row.seq}: its stored hash is wrong")
        if row.object != body.get("object"):
            raise CustodyBroken(
                f"custody log broken at event {row.seq}: its object column says {row.object!r}, "
                f"its signed record {body.get('object')!r}"
            )
        previous = digest
        yield digest


def verify(db: Session, verify_key: VerifyKey, expected_head: str | None = None) -> tuple[int, str]:
    """Check every event; return (count, head). Raise CustodyBroken naming the first bad event."""
    count, previous, seen_head = 0, GENESIS, expected_head is None or expected_head == GENESIS
    for previous in _checked(db, verify_key, 0, GENESIS):
        count += 1
        seen_head = seen_head or previous == expected_head
    if not seen_head:
        raise CustodyBroken(
            f"custody log broken at event {count + 1}: it is missing, with any after it; the log does not "
            f"contain head {expected_head}, so events were removed from its end"
        )
    return count, previous


def verify_after(db: Session, verify_key: VerifyKey, count: int, head: str) -> tuple[int, str]:
    """Check only the events after the first `count`, which an earlier verify() found to end in `head`.

    Of those earlier events only the last is looked at again (still there, still hashing to `head`)
    and their number: a change inside them is found by verify() alone, which `custody verify` runs.
    """
    last = db.scalars(select(CustodyEvent).where(CustodyEvent.seq == count)).first() if count else None
    if count and (
        last is None or last.hash != head or hashlib.sha256(last.record.encode("utf-8")).hexdigest() != head
    ):
        raise CustodyBroken(f"custody log broken at event {count}: it changed since it was verified")
    if db.scalar(select(func.count()).where(CustodyEvent.seq <= count)) != count:
        raise CustodyBroken(f"custody log broken before event {count}: events verified earlier are missing")
    added = list(_checked(db, verify_key, count, head))
    return count + len(added), added[-1] if added else head


def _event(row: CustodyEvent) -> Event:
    return Event(row.seq, row.hash, json.loads(row.record)["document"])


def history(db: Session, obj: str) -> list[Event]:
    rows = db.scalars(select(CustodyEvent).where(CustodyEvent.object == obj).order_by(CustodyEvent.seq))
    return [_event(row) for row in rows]


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(CustodyEvent)) or 0


def newest(db: Session, offset: int, limit: int) -> list[Event]:
    """A page of the whole log, newest first, as stored (custody verify is what checks it)."""
    rows = db.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc()).offset(offset).limit(limit))
    return [_event(row) for row in rows]
