"""Server-side sessions: the cookie is a random token; the row holds only a source id and CSRF secret.

Expiry times are rounded up to a quarter hour, and expired rows are deleted, so the table never
keeps a precise record of when a source was here.
"""

import hashlib
import json
import secrets
import time
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import CallbackDict

from submission.models import WebSession

COOKIE_NAME = "tamga_session"
_ROUNDING = 15 * 60


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(self, initial: dict[str, Any] | None = None, token: str | None = None) -> None:
        def on_update(_: object) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.token = token
        self.new = token is None
        self.modified = False
        self.retired: str | None = None

    def regenerate(self) -> None:
        """A new cookie token when the session starts to stand for a source (no session fixation)."""
        if self.token is not None:
            self.retired, self.token = self.token, None
        self.modified = True


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DatabaseSessionInterface(SessionInterface):
    def __init__(self, session_factory: sessionmaker[Session], lifetime_seconds: int) -> None:
        self.session_factory = session_factory
        self.lifetime = lifetime_seconds

    def _expiry(self) -> int:
        expires = int(time.time()) + self.lifetime
        return expires + (-expires % _ROUNDING)

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(COOKIE_NAME)
        if token and len(token) < 100:
            with self.session_factory() as db:
                row = db.get(WebSession, _hash(token))
                if row is not None and row.expires > time.time():
                    return ServerSession(json.loads(row.data), token)
        return ServerSession()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        with self.session_factory() as db, db.begin():
            for old in (session.retired, None if session else session.token):
                if old is not None:
                    db.execute(delete(WebSession).where(WebSession.token_hash == _hash(old)))
            if not session:
                if session.token is not None or session.retired is not None:
                    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict")
                return
            if session.token is None:
                session.token = secrets.token_urlsafe(32)
                db.execute(delete(WebSession).where(WebSession.expires < time.time()))
            db.merge(
                WebSession(
                    token_hash=_hash(session.token), data=json.dumps(dict(session)), expires=self._expiry()
                )
            )
        response.set_cookie(COOKIE_NAME, session.token, path="/", httponly=True, samesite="Strict")
        response.vary.add("Cookie")
