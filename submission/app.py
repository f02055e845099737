"""The intake application factory: explicit settings in, a hardened Flask app out."""

import datetime
import logging

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from submission import i18n, logscrub, page_script, pages, tus, web
from submission.db import make_engine, make_session_factory
from submission.sessions import DatabaseSessionInterface
from submission.settings import Settings
from submission.sources import Deriver
from submission.submit import Intake
from submission.uploads import Uploads
from submission.views import bp, submit
from templates import TEMPLATE_DIR


def create_app(settings: Settings) -> Flask:
    """Build the app; refuses to start without a recipient, a secret, or with a readable data dir."""
    settings.validate()
    app = Flask(__name__, template_folder=TEMPLATE_DIR)
    logscrub.install(app.logger)  # before anything can log: types and code locations only
    app.request_class = web.NoSpoolRequest
    session_seconds = settings.limits.session_minutes * 60
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=256 * 1024,  # ordinary forms; the submit view sets its own bound
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        WTF_CSRF_TIME_LIMIT=session_seconds,
        WTF_CSRF_SSL_STRICT=False,  # onion services are plain HTTP inside Tor
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(seconds=session_seconds),
        BABEL_DEFAULT_LOCALE="en",
        TAMGA_DEMO=settings.demo,
    )
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    app.session_interface = DatabaseSessionInterface(session_factory, settings.limits)
    intake = Intake(settings)
    intake.store.remove_stale_parts()
    app.extensions["tamga.engine"] = engine
    app.extensions["tamga.db"] = session_factory
    app.extensions["tamga.intake"] = intake
    app.extensions["tamga.uploads"] = uploads = Uploads(intake)
    with session_factory() as db:
        uploads.remove_expired(db)  # and a killed worker's parts that no upload owns
    app.extensions["tamga.deriver"] = Deriver(settings)

    web.install(app, settings.onion_addresses)  # the host check runs before the CSRF check
    csrf = CSRFProtect(app)
    csrf.exempt(submit)  # checked in-stream by the receiver, before any file part
    csrf.exempt(tus.bp)  # checked from a header by submission/tus.py, before the body is read
    i18n.install(app)
    pages.install(app)
    page_script.install(app)
    app.register_blueprint(bp)
    app.register_blueprint(tus.bp)
    app.jinja_env.globals.update(demo=settings.demo)
    app.logger.setLevel(logging.WARNING)
    return app
