"""`tamga-review serve`: the station in the browser, a thin web layer over the same library as the CLI.

create_app(station, settings) builds the Flask app; review/web/server.py serves it on loopback.
"""

import datetime
import importlib
import logging
import secrets
from dataclasses import dataclass

from flask import Flask, g
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from review.models import Item
from review.station import Station
from review.web import (
    access,
    custody_check,
    dashboard,
    guard,
    i18n,
    inbox,
    item,
    loop,
    packages,
    pages,
    sizes,
    station_keys,
    viewing,
    working_copies,
)
from review.web.desk import Desk
from review.web.uploads import StagingRequest
from templates import TEMPLATE_DIR

IDLE_MINUTES = 15


@dataclass(frozen=True)
class Settings:
    port: int
    idle_minutes: float = IDLE_MINUTES


def warm(app: Flask) -> None:
    """Load before the first request what it would wait for: review.preview and the item lookup (the
    first seek after unlock), and the station's templates compiled (the first page of each kind)."""
    importlib.import_module("review.preview")
    with app.extensions["station.sessions"]() as db:
        db.get(Item, 0)
    for name in app.jinja_env.list_templates(filter_func=lambda name: name.startswith("station/")):
        app.jinja_env.get_template(name)


def create_app(station: Station, settings: Settings) -> Flask:
    """Build the app for one station on 127.0.0.1:port; the station must exist (checked here)."""
    sessions = station.sessions()  # refuses a directory that is not a station
    app = Flask(__name__, template_folder=TEMPLATE_DIR)
    app.logger.setLevel(logging.WARNING)
    app.request_class = StagingRequest
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # per process: a restart needs a new token
        SESSION_COOKIE_NAME="tamga_station",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the browser session
        WTF_CSRF_SSL_STRICT=False,
        MAX_FORM_MEMORY_SIZE=256 * 1024,
        STATION_HOSTS=guard.allowed_hosts(settings.port),
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT,
    )
    app.extensions["station.desk"] = Desk(station, settings.idle_minutes * 60)
    app.extensions["station.sessions"] = sessions

    @app.teardown_request
    def close_session(error: BaseException | None) -> None:
        db: Session | None = g.pop("db", None)
        if db is not None:
            db.close()

    @app.context_processor
    def reviewer() -> dict[str, object]:
        desk = app.extensions["station.desk"]
        return {"unlocked": desk.unlocked, "actor": desk.actor if desk.unlocked else ""}

    app.jinja_env.globals["thumbnailable"] = viewing.thumbnailable
    app.jinja_env.filters.update(human_size=sizes.human_size, exact_size=sizes.exact_size)
    guard.install(app)
    CSRFProtect(app)
    i18n.install(app)
    pages.install(app)
    for module in (
        access,
        inbox,
        item,
        viewing,
        loop,
        dashboard,
        working_copies,
        packages,
        custody_check,
        station_keys,
    ):
        app.register_blueprint(module.bp)
    return app
