"""The station's keys from the browser: `tamga-review pubkey` (its three forms), `trust-server KEY`,
and the custody log's head and events (`custody head`, and the whole log behind `custody show`).

The key forms come from review/public_keys.py, the lines the command prints; a server key is
parsed by the same VerifyKey.parse and pinned by the same provision.pin_server as `trust-server`
(pinning a key again changes nothing, as there). A refusal is an error page (review/web/pages.py).
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from crypto.signing import VerifyKey
from review import custody, provision, public_keys
from review.models import TrustedServer
from review.safe_text import one_line
from review.web import context

bp = Blueprint("station_keys", __name__)

EVENTS_PER_PAGE = 50


@bp.get("/keys")
def index() -> ResponseReturnValue:
    station = context.station()
    return render_template(
        "station/keys.html",
        recipient=public_keys.recipient_lines(station),
        signing=public_keys.signing_lines(station),
        allowed_signers=public_keys.allowed_signers_line(station),
        servers=[VerifyKey.parse(row.verify_key) for row in public_keys.pinned_servers(context.db())],
    )


@bp.post("/keys/trust")
def trust() -> ResponseReturnValue:
    server = VerifyKey.parse(request.form.get("key", "").strip())  # refused as `trust-server` refuses
    db = context.db()
    already = db.get(TrustedServer, str(server)) is not None
    provision.pin_server(db, server)
    if already:
        flash(_("This server key was already pinned: nothing changed."))
    flash(public_keys.trusted_line(server))
    return redirect(url_for("station_keys.index"), code=303)


@bp.get("/custody/log")
def custody_log() -> ResponseReturnValue:
    """The head, then every event newest first, EVENTS_PER_PAGE a page; what is shown is not checked
    here (the custody page checks it)."""
    db = context.db()
    total = custody.count(db)
    pages = max(1, -(-total // EVENTS_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    events = custody.newest(db, (page - 1) * EVENTS_PER_PAGE, EVENTS_PER_PAGE)
    return render_template(
        "station/custody_log.html",
        head=custody.head(db),
        total=total,
        page=page,
        pages=pages,
        events=[
            {
                "seq": event.seq,
                "hash": event.hash,
                "time": event.body.get("time", ""),
                "action": one_line(str(event.body.get("action", ""))),
                "object": one_line(str(event.body.get("object", ""))),
                "actor": one_line(str(event.body.get("actor", ""))),
                "hashes": sorted(event.body.get("hashes", {}).items()),
            }
            for event in events
        ],
    )
