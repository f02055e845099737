"""Replies to sources and the outbox bundle that carries them, with acknowledgements, to the server.

A reply is sealed on the station to the source's reply recipient (from the export manifest), so
the server only ever holds a reply it cannot read. The outbox manifest is signed under
`tamga/outbox/v1` (not sealed: the server has no age key) and names the intended server.
"""

import datetime
import hashlib
import os
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto import X25519Recipient, seal_bytes
from crypto.bundle import write_bundle
from crypto.files import atomic_new_file, write_private
from crypto.manifests.outbox import OutboxEntry, OutboxManifest
from crypto.signing import VerifyKey
from review import custody
from review.errors import ReviewError
from review.models import Item, OutboxReply, OutboxState, TrustedServer, VaultEnvelope
from review.station import Keys, Station

OUTBOX_DIR = "outbox"
MAX_REPLY_CHARS = 20_000


def _outbox_path(station: Station, digest: str) -> Path:
    return station.root / OUTBOX_DIR / f"{digest}.age"


def _server_of(db: Session, item: Item) -> str:
    server = db.get(VaultEnvelope, item.envelope_sha256)
    if server is None:
        raise ReviewError(f"item {item.id} has no known intake server")
    return server.server


def reply(station: Station, db: Session, keys: Keys, item: Item, text: str, actor: str) -> OutboxReply:
    """Seal text to the item's source and keep it in the outbox (a custody event)."""
    text = text.strip()
    if not text:
        raise ReviewError("the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise ReviewError(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    sealed = seal_bytes(text.encode("utf-8"), [X25519Recipient.parse(item.reply_recipient)])
    digest = hashlib.sha256(sealed).hexdigest()
    directory = station.root / OUTBOX_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    path = _outbox_path(station, digest)
    write_private(path, sealed)
    row = OutboxReply(
        item_id=item.id,
        source_id=item.source_id,
        server=_server_of(db, item),
        sha256=digest,
        size=len(sealed),
    )
    try:
        db.add(row)
        db.flush()
        custody.record(
            db,
            keys.signing,
            "replied",
            f"item:{item.id}",
            actor,
            {"reply_envelope_sha256": digest},
            {"reply": row.id},
        )
        db.commit()
    except BaseException:
        db.rollback()
        path.unlink(missing_ok=True)
        raise
    return row


def _choose_server(db: Session, server: str | None) -> str:
    pinned = list(db.scalars(select(TrustedServer.verify_key)))
    if server is not None:
        key = str(VerifyKey.parse(server))
        if key not in pinned:
            raise ReviewError("that server key is not pinned on this station")
        return key
    if len(pinned) != 1:
        raise ReviewError(
            f"name the intake server with --server KEY (this station pins {len(pinned)} server keys)"
        )
    return pinned[0]


def export_outbox(
    station: Station, db: Session, keys: Keys, out: Path, actor: str, server: str | None = None
) -> tuple[int, int]:
    """Write the outbox bundle; return (replies, acknowledgements)."""
    if os.path.lexists(out):
        raise ReviewError(f"{out} already exists: refusing to overwrite it")
    server_key = _choose_server(db, server)
    replies = list(
        db.scalars(
            select(OutboxReply).where(OutboxReply.server == server_key, OutboxReply.exported_in.is_(None))
        )
    )
    acks = list(
        db.scalars(
            select(VaultEnvelope.sha256).where(
                VaultEnvelope.server == server_key, VaultEnvelope.acknowledged_in.is_(None)
            )
        )
    )
    state = db.get(OutboxState, server_key) or OutboxState(server=server_key, last_sequence=0)
    db.add(state)
    state.last_sequence += 1
    sequence = state.last_sequence
    head_event = custody.record(
        db,
        keys.signing,
        "outbox-exported",
        f"outbox:{sequence}",
        actor,
        details={"server": server_key, "replies": len(replies), "acknowledged": len(acks)},
    )
    written = False
    try:
        manifest = OutboxManifest(
            sender=keys.signing.verify_key.key_id,
            receiver=server_key,
            sequence=sequence,
            created=datetime.date.fromisoformat(head_event.body["time"][:10]),
            custody_head=head_event.hash,
            custody_events=head_event.seq,
            acknowledged=tuple(sorted(acks)),
            envelopes=tuple(OutboxEntry(r.sha256, r.size, r.source_id, r.id) for r in replies),
        ).encode(keys.signing)
        with atomic_new_file(out) as dst:
            write_bundle(
                dst, manifest, ((f"{r.sha256}.age", _outbox_path(station, r.sha256)) for r in replies)
            )
        written = True
        if replies:
            db.execute(
                update(OutboxReply)
                .where(OutboxReply.id.in_([r.id for r in replies]))
                .values(exported_in=sequence)
            )
        if acks:
            db.execute(
                update(VaultEnvelope).where(VaultEnvelope.sha256.in_(acks)).values(acknowledged_in=sequence)
            )
        db.commit()
    except BaseException:
        db.rollback()
        if written:  # an outbox the catalogue does not record must not travel
            out.unlink(missing_ok=True)
        raise
    return len(replies), len(acks)
