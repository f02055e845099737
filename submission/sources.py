"""Sources: codename in, keys derived for the length of one POST, only public facts kept.

Warning: codenames and reply identities pass through here; none is stored, logged or put in
the session. The session holds the source id and public reply recipient only.
"""

import threading

from flask import session
from sqlalchemy.orm import Session

from crypto import X25519Identity
from crypto.codename import derive_reply_identity, normalise_codename, source_id
from submission.errors import Busy, NotLoggedIn, TooLarge, UnknownCodename
from submission.models import Source
from submission.settings import Settings


class Deriver:
    """Argon2id costs 64 MiB: a per-worker cap answers 503 rather than exhausting memory."""

    def __init__(self, settings: Settings) -> None:
        self._slots = threading.BoundedSemaphore(settings.limits.max_concurrent_derivations)
        self._salt = settings.codename_salt
        self._max_chars = settings.limits.max_codename_chars

    def derive(self, codename: str) -> X25519Identity:
        if len(codename) > self._max_chars:
            raise TooLarge()
        if not self._slots.acquire(blocking=False):
            raise Busy()
        try:
            return derive_reply_identity(normalise_codename(codename), self._salt)
        finally:
            self._slots.release()


KEPT_ACROSS_SESSIONS = ("csrf_token", "lang")


def fresh_session(keep: tuple[str, ...] = KEPT_ACROSS_SESSIONS) -> None:
    """Clear the session under a new token (no session fixation), keeping only the keys named:
    by default the CSRF secret and the chosen language."""
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session.update(kept)


def begin_new_source(identity: X25519Identity) -> None:
    """Remember a new source's public facts; its row is created at its first submission."""
    fresh_session()
    session["source_id"] = source_id(identity)
    session["reply_recipient"] = str(identity.recipient)
    session["new"] = True


def log_in(db: Session, identity: X25519Identity) -> Source:
    source = db.get(Source, source_id(identity))
    if source is None:
        raise UnknownCodename()
    fresh_session()
    session["source_id"] = source.id
    session["reply_recipient"] = source.reply_recipient
    return source


def current_source_id() -> str:
    """The session's source id, or NotLoggedIn."""
    value = session.get("source_id")
    if not isinstance(value, str):
        raise NotLoggedIn()
    return value


def get_or_create_source(db: Session) -> Source:
    """The logged-in source's row; created here on a first submission."""
    sid = current_source_id()
    source = db.get(Source, sid)
    if source is None:
        if not session.get("new"):
            raise NotLoggedIn()
        source = Source(id=sid, reply_recipient=str(session["reply_recipient"]))
        db.add(source)
    return source
