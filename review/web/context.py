"""What every view reaches for: the station, its catalogue session, the desk, and `unlock`."""

from pathlib import Path

from flask import current_app, g, request
from sqlalchemy.orm import Session

from review.errors import ReviewError
from review.station import Keys, Station
from review.web.desk import Desk
from review.web.guard import desk


def db() -> Session:
    """The request's catalogue session, closed when the request ends."""
    if "db" not in g:
        g.db = current_app.extensions["station.sessions"]()
    session: Session = g.db
    return session


def station() -> Station:
    return desk().station


def keys() -> Keys:
    return desk().keys


def actor() -> str:
    return desk().actor


def path_field(name: str) -> Path:
    """A path on the station typed into a form (`~` expanded); refused when empty."""
    value = request.form.get(name, "").strip()
    if not value:
        raise ReviewError("give a path on the station")
    return Path(value).expanduser()


__all__ = ["Desk", "actor", "db", "desk", "keys", "path_field", "station"]
