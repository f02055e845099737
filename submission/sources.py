"""Sources: codename in, keys derived for the length of one POST, only public facts kept.

Warning: codenames and reply identities pass through here; none is stored, logged or put in
the session. The session holds the source id and public reply recipient only.
"""

import threading

from flask import g, session
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crypto import X25519Identity
from crypto.codename import derive_reply_identity, normalise_codename, source_id
from submission.errors import Busy, NotLoggedIn, TooLarge, UnknownCodename
from submission.models import Source, today
from submission.settings import Settings
from submission.slots import LOCKS_DIR, SlotDirectory, family_key


class Deriver:
    """Argon2id costs 64 MiB and most of a second of CPU: derivations run a few at a time per
    worker, and one at a time per session across every worker (submission/slots.py).

    A derivation waits briefly for a free slot rather than being refused at once, so a burst of
    real codenames queues; one session's flood holds at most its one slot and is refused
    (503) while that slot is busy, so it cannot fill the queue.
    """

    def __init__(self, settings: Settings) -> None:
        limits = settings.limits
        self._slots = threading.BoundedSemaphore(limits.max_concurrent_derivations)
        self._wait = limits.derivation_wait_seconds
        self._per_session = limits.max_derivations_per_session
        self._sessions = SlotDirectory(settings.data_dir / LOCKS_DIR)
        self._salt = settings.codename_salt
        self._key = settings.secret_key
        self._max_chars = limits.max_codename_chars

    def derive(self, codename: str) -> X25519Identity:
        if len(codename) > self._max_chars:
            raise TooLarge()
        family = "derive-session-" + family_key(self._key, session_key())
        session_slot = self._sessions.take(family, self._per_session)
        if session_slot is None:
            raise Busy()
        with session_slot:
            if not self._slots.acquire(timeout=self._wait):
                raise Busy()
            try:
                return derive_reply_identity(normalise_codename(codename), self._salt)
            finally:
                self._slots.release()


def session_key() -> str:
    """What one session is known by while it has no source yet: its CSRF secret, which every
    form that derives has just proved it holds."""
    value = session.get("csrf_token")
    return value if isinstance(value, str) else ""


KEPT_ACROSS_SESSIONS = ("lang",)


def fresh_session(keep: tuple[str, ...] = KEPT_ACROSS_SESSIONS) -> None:
    """Clear the session under a new token (no session fixation), keeping only the keys named:
    by default the chosen language. The CSRF secret is not kept: a token that leaked before
    log-in is worth nothing after it."""
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session.update(kept)
    g.pop("csrf_token", None)  # Flask-WTF's copy for this request: the page gets a fresh one


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
    """The logged-in source's row; created here on a first submission.

    Two first submissions of a new source can arrive together: the row is inserted with "on
    conflict do nothing" and committed at once, so the second finds it rather than failing.
    """
    sid = current_source_id()
    source = db.get(Source, sid)
    if source is None:
        if not session.get("new"):
            raise NotLoggedIn()
        values = {"id": sid, "reply_recipient": str(session["reply_recipient"]), "created_day": today()}
        if db.get_bind().dialect.name == "postgresql":
            db.execute(postgresql.insert(Source).values(values).on_conflict_do_nothing(index_elements=["id"]))
        else:
            db.execute(sqlite.insert(Source).values(values).on_conflict_do_nothing(index_elements=["id"]))
        db.commit()
        source = db.get(Source, sid)
        if source is None:
            raise NotLoggedIn()
    return source
