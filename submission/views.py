"""The source's pages. Thin views: parse, call one service, respond; every page works without JavaScript."""

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from submission import source_home, sources, tus
from submission.codenames import new_codename

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
def login() -> str:
    """Log in and show the source's page with replies, decrypted for this response only."""
    identity = current_app.extensions["tamga.deriver"].derive(request.form.get("codename", ""))
    with _db() as db:
        source = sources.log_in(db, identity)
        shown = source_home.read_replies(db, _intake().store, source.id, identity)
    return _home(replies_shown=shown)


@bp.post("/replies/<reply_id>/delete")
def delete_reply(reply_id: str) -> ResponseReturnValue:
    source_id = sources.current_source_id()
    with _db() as db:
        source_home.delete_reply(db, _intake().store, source_id, reply_id)
    return redirect(url_for("source.submit_form", deleted=1), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sources.fresh_session(keep=("lang",))  # nothing of the source survives, only the language
    return redirect(url_for("source.logged_out"), code=303)


@bp.get("/logged-out")
def logged_out() -> str:
    return render_template("intake/logged_out.html")


def _intake():  # type: ignore[no-untyped-def]
    return current_app.extensions["tamga.intake"]


def _home(replies_shown: list[dict[str, object]] | None = None) -> str:
    """The source's page: what arrived (by day), replies, and the upload form."""
    source_id = sources.current_source_id()
    with _db() as db:
        facts = source_home.home(db, source_id)
    return render_template(
        "intake/submit.html",
        submitted=facts.submitted,
        replies=replies_shown,
        waiting=facts.waiting,
        deleted=request.args.get("deleted") == "1",
        limits=_intake().settings.limits,
        recipients=" ".join(str(recipient) for recipient in _intake().settings.recipients),
    )


@bp.get("/submit")
def submit_form() -> str:
    return _home()


@bp.post("/submit")
def submit() -> ResponseReturnValue:
    with _db() as db:
        _intake().accept(db)
    session.pop("new", None)
    return redirect(url_for("source.thanks"), code=303)


@bp.post("/submit/sealed")
def submit_sealed() -> ResponseReturnValue:
    """Commit uploads sealed in the browser (submission/tus.py) as one submission, or none."""
    sources.current_source_id()
    with _db() as db:
        current_app.extensions["tamga.uploads"].commit(db, tus.owner_key(), request.form.getlist("upload"))
    session.pop("new", None)
    return redirect(url_for("source.thanks"), code=303)


@bp.get("/thanks")
def thanks() -> str:
    sources.current_source_id()
    return render_template("intake/thanks.html")


@bp.get("/robots.txt")
def robots() -> Response:
    return Response("User-agent: *\nDisallow: /\n", mimetype="text/plain")
