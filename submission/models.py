"""What the intake database knows: public keys, random ids, days. Never a name, hash or size of plaintext."""

import datetime
import secrets

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
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
    submission: Mapped[Submission] = relationship(back_populates="envelopes")


class WebSession(Base):
    """A server-side session: the cookie carries only a random token, stored here hashed."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(String(4096))
    expires: Mapped[int] = mapped_column(Integer, index=True)


class Counter(Base):
    """Named counters that only grow (the export sequence number)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
