"""The source's pages. Thin views: parse, call one service, respond; every page works without JavaScript."""

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from sqlalchemy import select

from submission import sources
from submission.codenames import new_codename
from submission.models import Source, Submission

bp = Blueprint("source", __name__)


def _db():  # type: ignore[no-untyped-def]
    return current_app.extensions["tamga.db"]()


@bp.get("/")
def index() -> str:
    return render_template("intake/index.html", logged_in="source_id" in session)


@bp.post("/codename")
def codename() -> str:
    """Show a fresh codename once. Keys are derived here, on a POST, and only public facts kept."""
    words = new_codename()
    identity = current_app.extensions["tamga.deriver"].derive(words)
    sources.begin_new_source(identity)
    return render_template("intake/codename.html", codename=words)


@bp.post("/login")
def login() -> Response:
    identity = current_app.extensions["tamga.deriver"].derive(request.form.get("codename", ""))
    with _db() as db:
        sources.log_in(db, identity)
    return redirect(url_for("source.submit_form"), code=303)


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("source.logged_out"), code=303)


@bp.get("/logged-out")
def logged_out() -> str:
    return render_template("intake/logged_out.html")


@bp.get("/submit")
def submit_form() -> str:
    source_id = sources.current_source_id()
    with _db() as db:
        days = db.scalars(
            select(Submission.day).where(Submission.source_id == source_id).order_by(Submission.day)
        ).all()
        known = db.get(Source, source_id) is not None
    limits = current_app.extensions["tamga.intake"].settings.limits
    return render_template("intake/submit.html", days=days, known=known, limits=limits)


@bp.post("/submit")
def submit() -> Response:
    with _db() as db:
        current_app.extensions["tamga.intake"].accept(db)
    session.pop("new", None)
    return redirect(url_for("source.thanks"), code=303)


@bp.get("/thanks")
def thanks() -> str:
    sources.current_source_id()
    return render_template("intake/thanks.html")


@bp.get("/robots.txt")
def robots() -> Response:
    return Response("User-agent: *\nDisallow: /\n", mimetype="text/plain")
