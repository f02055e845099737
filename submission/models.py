"""What the intake database knows: public keys, random ids, days. Never a name, hash or size of plaintext."""

import datetime
import secrets

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def random_id() -> str:
    return secrets.token_hex(16)


def today() -> datetime.date:
    """The only time the intake records: the UTC day."""
    return datetime.datetime.now(datetime.UTC).date()


class Base(DeclarativeBase):
    pass


class Source(Base):
    """A source, known only by an id and reply recipient derived from their codename."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reply_recipient: Mapped[str] = mapped_column(String(80))
    created_day: Mapped[datetime.date] = mapped_column(Date, default=today)
    submissions: Mapped[list["Submission"]] = relationship(
        back_populates="source", order_by="Submission.day", cascade="all, delete-orphan"
    )


class Submission(Base):
    """One form sent: a message and/or files, all sealed."""

    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    day: Mapped[datetime.date] = mapped_column(Date, default=today)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[Source] = relationship(back_populates="submissions")
    envelopes: Mapped[list["Envelope"]] = relationship(
        back_populates="submission", order_by="Envelope.item", cascade="all, delete-orphan"
    )


class Envelope(Base):
    """One sealed file on disk. `item` pairs a file's content with its metadata envelope."""

    __tablename__ = "envelopes"

    KINDS = ("file-content", "file-metadata", "message")

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    item: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    exported: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # of the ciphertext, set on export
    submission: Mapped[Submission] = relationship(back_populates="envelopes")


class WebSession(Base):
    """A server-side session: the cookie carries only a random token, stored here hashed."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(String(4096))
    expires: Mapped[int] = mapped_column(Integer, index=True)  # slides with use, never past `ends`
    ends: Mapped[int] = mapped_column(Integer)  # the absolute end, set when the session began
    identified: Mapped[bool] = mapped_column(Boolean, default=False)  # stands for a source

    __table_args__ = (Index("ix_web_sessions_identified_expires", "identified", "expires"),)


class Counter(Base):
    """Named counters that only grow (the export sequence number)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Reply(Base):
    """A reviewer's reply, sealed on the station to the source's reply key; unreadable here."""

    __tablename__ = "replies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    station: Mapped[str] = mapped_column(String(100))
    station_reply: Mapped[int] = mapped_column(Integer)
    storage_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    day: Mapped[datetime.date] = mapped_column(Date, default=today)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("station", "station_reply"),)


class TrustedStation(Base):
    """A pinned review-station signing key and the last outbox imported from it."""

    __tablename__ = "trusted_stations"

    verify_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    pinned_day: Mapped[datetime.date] = mapped_column(Date, default=today)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    last_digest: Mapped[str | None] = mapped_column(String(64))


class CustodyHead(Base):
    """A copy of the station's custody-log head, kept off the station to catch a truncated log."""

    __tablename__ = "custody_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station: Mapped[str] = mapped_column(String(100), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)
    day: Mapped[datetime.date] = mapped_column(Date, default=today)


class Upload(Base):
    """A resumable upload of one envelope sealed in the source's browser, not yet committed.

    Known by a random id and a keyed hash of its session (never the session itself); its part
    is `<data dir>/uploads/<storage_name>.part`. `offset` is the length its last piece left
    (fsynced once complete; submission/boots.py). The only time is the day it expires;
    committed or expired, the row is deleted.
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    owner: Mapped[str] = mapped_column(String(32), index=True)
    item: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    header_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    expires_day: Mapped[datetime.date] = mapped_column(Date, index=True)  # gone from 00:00 UTC that day

    @property
    def complete(self) -> bool:
        return self.header_checked and self.offset == self.length
