"""The catalogue: items, the vault's envelopes, imported bundles, pinned servers, the custody log."""

import datetime

from sqlalchemy import Date, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STATUSES = ("new", "triaged", "verified", "rejected", "duplicate", "undecryptable")


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class Base(DeclarativeBase):
    pass


class Item(Base):
    """One file or one message a source sent."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # file | message
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    envelope_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    envelope_size: Mapped[int] = mapped_column(Integer)
    metadata_sha256: Mapped[str | None] = mapped_column(String(64))
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(Integer)
    original_name: Mapped[str | None] = mapped_column(Text)
    declared_type: Mapped[str | None] = mapped_column(String(255))
    submission: Mapped[str] = mapped_column(String(64), index=True)
    item_no: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    reply_recipient: Mapped[str] = mapped_column(String(100))
    received: Mapped[datetime.date] = mapped_column(Date)
    bundle: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now)
    # What reviewers record.
    polling_station: Mapped[str | None] = mapped_column(String(64), index=True)
    region: Mapped[str | None] = mapped_column(String(200), index=True)
    settlement: Mapped[str | None] = mapped_column(String(200))
    incident_time: Mapped[str | None] = mapped_column(String(40))  # ISO 8601 with its UTC offset
    # What the file says about itself (review/media.py), read in a separate process.
    probe_status: Mapped[str | None] = mapped_column(String(16))  # ok | unparsed | skipped
    media: Mapped[str | None] = mapped_column(Text)  # JSON facts
    identifying: Mapped[str | None] = mapped_column(String(100))  # e.g. "gps,device_serial"
    phash: Mapped[str | None] = mapped_column(String(32))
    duplicate_of: Mapped[int | None] = mapped_column(Integer, index=True)
    # A working copy (review/derive.py): the item it was made from, which never changes.
    derived_from: Mapped[int | None] = mapped_column(Integer, index=True)


class ImportedBundle(Base):
    __tablename__ = "imported_bundles"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    signer: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column(Integer)
    envelopes: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now)


class TrustedServer(Base):
    """A pinned intake server signing key and the last sequence number imported from it."""

    __tablename__ = "trusted_servers"

    verify_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    pinned_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)


class CustodyEvent(Base):
    """One signed, hash-chained entry of the custody log. Append-only by construction of the code."""

    __tablename__ = "custody_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    record: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    object: Mapped[str] = mapped_column(String(100), index=True)


class VaultEnvelope(Base):
    """Every envelope the vault holds, which server sent it, and the outbox that acknowledged it."""

    __tablename__ = "vault_envelopes"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    server: Mapped[str] = mapped_column(String(100), index=True)
    acknowledged_in: Mapped[int | None] = mapped_column(Integer)


class OutboxReply(Base):
    """A reply sealed to a source, waiting for (or carried by) an outbox."""

    __tablename__ = "outbox_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    server: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now)
    exported_in: Mapped[int | None] = mapped_column(Integer)


class OutboxState(Base):
    """The outbox sequence number per intake server: it only grows."""

    __tablename__ = "outbox_state"

    server: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)


class ItemIncident(Base):
    __tablename__ = "item_incidents"

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)


class ItemTag(Base):
    __tablename__ = "item_tags"

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now)
