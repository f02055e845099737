"""Server-side sessions: the cookie is a random token; the row holds only a source id and CSRF secret.

Expiry times are rounded up to a quarter hour, and expired rows are deleted, so the table never
keeps a precise record of when a source was here. A session slides with use, but never past an
absolute end set when it began (log-in and a new codename begin one). Sessions of visitors who
are not logged in are capped in number: a flood of cookieless requests evicts its own kind,
oldest first, never a source's session.
"""

import hashlib
import json
import secrets
import time
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import Engine, delete, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import CallbackDict

from submission.models import WebSession
from submission.settings import Limits

COOKIE_NAME = "tamga_session"
_ROUNDING = 15 * 60


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(
        self, initial: dict[str, Any] | None = None, token: str | None = None, ends: int | None = None
    ) -> None:
        def on_update(_: object) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.token = token
        self.ends = ends  # None until saved: the session begins then
        self.new = token is None
        self.modified = False
        self.retired: str | None = None
        self.stored_expires: int | None = None  # the row's, as loaded

    def regenerate(self) -> None:
        """A new cookie token, and a new absolute end, when the session starts to stand for a
        source (no session fixation)."""
        if self.token is not None:
            self.retired, self.token = self.token, None
        self.ends = None
        self.modified = True


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _rounded_up(seconds: int) -> int:
    return seconds + (-seconds % _ROUNDING)


def upgrade_table(engine: Engine) -> None:
    """Recreate a web_sessions table from before the absolute end and the source flag.

    Sessions are disposable: the only cost is that everyone logged in logs in again, once.
    """
    columns = {column["name"] for column in inspect(engine).get_columns(WebSession.__tablename__)}
    if {"ends", "identified"} <= columns:
        return
    table = WebSession.__table__
    table.drop(engine, checkfirst=True)  # type: ignore[attr-defined]
    table.create(engine, checkfirst=True)  # type: ignore[attr-defined]


def _send_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE_NAME, token, path="/", httponly=True, samesite="Strict")
    response.vary.add("Cookie")


class DatabaseSessionInterface(SessionInterface):
    def __init__(self, session_factory: sessionmaker[Session], limits: Limits) -> None:
        self.session_factory = session_factory
        self.lifetime = limits.session_minutes * 60
        self.max_lifetime = limits.session_max_minutes * 60
        self.max_anonymous = limits.max_anonymous_sessions
        bind = session_factory.kw.get("bind")
        if isinstance(bind, Engine):
            upgrade_table(bind)

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(COOKIE_NAME)
        if token and len(token) < 100:
            with self.session_factory() as db:
                row = db.get(WebSession, _hash(token))
                now = time.time()
                if row is not None and row.expires > now and row.ends > now:
                    session = ServerSession(json.loads(row.data), token, row.ends)
                    session.stored_expires = row.expires
                    return session
        return ServerSession()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if self._unchanged(session):  # most requests (every tus piece): no database write
            _send_cookie(response, str(session.token))
            return
        with self.session_factory() as db, db.begin():
            for old in (session.retired, None if session else session.token):
                if old is not None:
                    db.execute(delete(WebSession).where(WebSession.token_hash == _hash(old)))
            if not session:
                if session.token is not None or session.retired is not None:
                    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict")
                return
            now = int(time.time())
            identified = "source_id" in session
            if session.token is None:
                session.token = secrets.token_urlsafe(32)
                db.execute(delete(WebSession).where(WebSession.expires < now))
                if not identified:
                    self._make_room(db)
            if session.ends is None:
                session.ends = _rounded_up(now + self.max_lifetime)
            db.merge(
                WebSession(
                    token_hash=_hash(session.token),
                    data=json.dumps(dict(session)),
                    expires=min(_rounded_up(now + self.lifetime), session.ends),
                    ends=session.ends,
                    identified=identified,
                )
            )
        _send_cookie(response, session.token)

    def _unchanged(self, session: ServerSession) -> bool:
        """Nothing to write: same data, same row, and the same rounded expiry as stored."""
        if session.modified or session.token is None or session.retired is not None or not session:
            return False
        if session.ends is None or session.stored_expires is None:
            return False
        return session.stored_expires == min(_rounded_up(int(time.time()) + self.lifetime), session.ends)

    def _make_room(self, db: Session) -> None:
        """Keep sessions of visitors not logged in under the cap by evicting the oldest of them."""
        anonymous = WebSession.identified.is_(False)
        count = db.scalar(select(func.count()).select_from(WebSession).where(anonymous)) or 0
        excess = count - self.max_anonymous + 1
        if excess > 0:
            oldest = select(WebSession.token_hash).where(anonymous).order_by(WebSession.expires).limit(excess)
            db.execute(delete(WebSession).where(WebSession.token_hash.in_(oldest.scalar_subquery())))
