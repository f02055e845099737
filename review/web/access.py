"""Unlocking and locking the station: the passphrase and the reviewer's name, keys in memory only."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from crypto.errors import PassphraseError, WrongPassphraseError
from review.web.guard import desk

bp = Blueprint("access", __name__)
MAX_ACTOR = 200


@bp.get("/unlock")
def unlock_form() -> ResponseReturnValue:
    if desk().unlocked:
        return redirect(url_for("inbox.index"), code=303)
    return render_template("station/unlock.html", error=None, actor="")


@bp.post("/unlock")
def unlock() -> ResponseReturnValue:
    passphrase = request.form.get("passphrase", "")
    actor = " ".join(request.form.get("actor", "").split())
    error = None
    if not actor or len(actor) > MAX_ACTOR:
        error = _("Give your name for the custody log (at most 200 characters).")
    else:
        try:
            desk().unlock(passphrase, actor)
        except (WrongPassphraseError, PassphraseError):
            error = _("The passphrase did not open the station's keys.")
    if error:
        return render_template("station/unlock.html", error=error, actor=actor), 400
    return redirect(url_for("inbox.index"), code=303)


@bp.post("/lock")
def lock() -> ResponseReturnValue:
    desk().lock()
    return render_template("station/locked.html")
