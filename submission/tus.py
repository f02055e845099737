"""The tus 1.0.0 server for envelopes sealed in the source's browser: Core, Creation, Termination
and Expiration under /uploads. Thin views: parse the protocol's headers, call submission/uploads.py.

Every request but OPTIONS must come from a logged-in session and carry its CSRF token in
`X-CSRFToken` (checked here, not by CSRFProtect, whose form parse would read the body first);
an upload is known only to the session that created it. Committing is a normal form POST
(views.submit_sealed). See docs/operators.md.
"""

import base64
import binascii
import datetime
import re

from flask import Blueprint, Response, current_app, request
from flask_wtf.csrf import validate_csrf
from werkzeug.http import http_date
from wtforms.validators import ValidationError

from submission.errors import BadSubmission, FormExpired, UnsupportedProtocol, UnsupportedUploadType
from submission.slots import family_key
from submission.sources import current_source_id, session_key
from submission.uploads import Uploads

bp = Blueprint("uploads", __name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
PIECE_TYPE = "application/offset+octet-stream"
CSRF_HEADER = "X-CSRFToken"
_NUMBER = re.compile(r"[0-9]{1,19}")
MAX_METADATA_CHARS = 512


def _uploads() -> Uploads:
    uploads: Uploads = current_app.extensions["tamga.uploads"]
    return uploads


def _db():  # type: ignore[no-untyped-def]
    return current_app.extensions["tamga.db"]()


def owner_key() -> str:
    """What an upload's row knows of its session: a keyed hash of the session's CSRF secret."""
    return family_key(current_app.config["SECRET_KEY"], "upload", session_key())


def _number(name: str) -> int:
    value = request.headers.get(name, "")
    if not _NUMBER.fullmatch(value):
        raise BadSubmission()
    return int(value)


def parse_metadata(header: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated `key base64(value)` pairs."""
    if len(header) > MAX_METADATA_CHARS:
        raise BadSubmission()
    pairs: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            pairs[key] = base64.b64decode(value, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise BadSubmission() from None
    return pairs


def _expires(day: datetime.date) -> str:
    return http_date(datetime.datetime.combine(day, datetime.time(), datetime.UTC))


@bp.before_request
def check_protocol_and_session() -> None:
    if request.method == "OPTIONS":
        return
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise UnsupportedProtocol()
    current_source_id()  # NotLoggedIn before anything else
    try:
        validate_csrf(request.headers.get(CSRF_HEADER, ""))
    except ValidationError:
        raise FormExpired() from None


@bp.after_request
def tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    if response.status_code == UnsupportedProtocol.status:
        response.headers["Tus-Version"] = TUS_VERSION
    return response


@bp.route("/uploads", methods=["OPTIONS"], provide_automatic_options=False)
def options() -> Response:
    response = Response(status=204)
    response.headers.update(
        {
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(_uploads().max_total),
        }
    )
    return response


@bp.post("/uploads")
def create() -> Response:
    metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    item = metadata.get("item", "")
    if not _NUMBER.fullmatch(item) or "Upload-Defer-Length" in request.headers:
        raise BadSubmission()
    length = _number("Upload-Length")
    with _db() as db:
        upload = _uploads().create(db, owner_key(), metadata.get("kind", ""), int(item), length)
    response = Response(status=201)
    response.headers["Location"] = f"/uploads/{upload.id}"
    response.headers["Upload-Expires"] = _expires(upload.expires_day)
    return response


@bp.route("/uploads/<upload_id>", methods=["HEAD"])
def head(upload_id: str) -> Response:
    with _db() as db:
        upload = _uploads().find(db, owner_key(), upload_id)
    response = Response(status=200)
    response.headers["Upload-Offset"] = str(upload.offset)
    response.headers["Upload-Length"] = str(upload.length)
    response.headers["Upload-Expires"] = _expires(upload.expires_day)
    return response


@bp.patch("/uploads/<upload_id>")
def patch(upload_id: str) -> Response:
    if request.mimetype != PIECE_TYPE:
        raise UnsupportedUploadType()
    offset = _number("Upload-Offset")
    source = current_source_id()
    with _db() as db:
        uploads = _uploads()
        upload = uploads.find(db, owner_key(), upload_id)
        new_offset = uploads.append(db, upload, offset, source)
        expires = _expires(upload.expires_day)
    response = Response(status=204)
    response.headers["Upload-Offset"] = str(new_offset)
    response.headers["Upload-Expires"] = expires
    return response


@bp.delete("/uploads/<upload_id>")
def terminate(upload_id: str) -> Response:
    with _db() as db:
        uploads = _uploads()
        uploads.delete(db, uploads.find(db, owner_key(), upload_id))
    return Response(status=204)
