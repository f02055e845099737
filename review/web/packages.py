"""Evidence packages from the browser: write one (`tamga-review package`) and check one (`verify-package`).

The views call review/package.py and review/package_verify.py, the functions the commands call,
with the commands' defaults (no messages, no identifying data, no derivatives unless ticked), so
a package written here is the command's, signed the same way and recorded by the same `packaged`
events. A package is never written over an existing path. A package to check comes from a path
on the station or an upload streamed to <station>/incoming/ (review/web/uploads.py).
"""

from pathlib import Path

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from crypto import sshsig
from crypto.signing import fingerprint
from review import items, package, package_format, package_verify
from review.errors import ReviewError
from review.models import Item
from review.vault import file_sha256
from review.web import context
from review.web.uploads import staged_upload

bp = Blueprint("packages", __name__)


def _item_ids(values: list[str]) -> list[int]:
    """Item numbers from ticked boxes and a typed list ("3 7 12"), in the order given."""
    found = []
    for value in (word for text in values for word in text.replace(",", " ").split()):
        if not (value.isascii() and value.isdigit()):
            raise ReviewError(f"{value!r} is not an item number")
        found.append(int(value))
    return list(dict.fromkeys(found))


def submission_files(submission: str) -> list[Item]:
    """The files of one submission, working copies included, in the order they were sent."""
    return list(
        context.db().scalars(
            select(Item)
            .where(Item.submission == submission, Item.kind == "file")
            .order_by(Item.item_no, Item.id)
        )
    )


@bp.get("/package")
def package_form() -> ResponseReturnValue:
    """The chooser: items named in the address (?item=3&item=7) or a submission's files (?submission=)."""
    db = context.db()
    chosen = [items.get_item(db, item_id) for item_id in _item_ids(request.args.getlist("item"))]
    submission = request.args.get("submission", "").strip()
    if submission:
        chosen += [item for item in submission_files(submission) if item not in chosen]
    return render_template("station/package.html", chosen=chosen)


@bp.post("/package")
def write() -> ResponseReturnValue:
    item_ids = _item_ids([*request.form.getlist("item"), request.form.get("more", "")])
    if not item_ids:
        raise ReviewError("choose at least one item to package")
    out = context.path_field("path")
    include_identifying = request.form.get("include_identifying") == "yes"
    written = package.write_package(
        context.station(),
        context.db(),
        context.keys(),
        item_ids,
        out,
        context.actor(),
        with_messages=request.form.get("with_messages") == "yes",
        include_identifying=include_identifying,
        with_derivatives=request.form.get("with_derivatives") == "yes",
    )
    return render_template(
        "station/package_written.html",
        written=written,
        size=out.stat().st_size,
        include_identifying=include_identifying,
        station_key=str(context.station().verify_key),
    )


@bp.get("/verify-package")
def verify_form() -> ResponseReturnValue:
    return render_template("station/verify_package.html", station_key=str(context.station().verify_key))


def _key() -> bytes | None:
    """The key typed or kept in the form (this station's by default); none: the package's own."""
    text = request.form.get("key", "").strip()
    return package_verify.parse_key(text) if text else None


def _verified(path: Path, shown_as: str) -> ResponseReturnValue:
    checked = package_verify.verify_package(path, _key())
    return render_template(
        "station/package_verified.html",
        path=shown_as,
        checked=checked,
        ssh_fingerprint=sshsig.fingerprint(checked.key),
        tamga_fingerprint=fingerprint(checked.key),
        sha256=file_sha256(path),
        station_signed=checked.key == context.station().verify_key.public_key,
        format=package_format,
    )


@bp.post("/verify-package")
def verify_path() -> ResponseReturnValue:
    path = context.path_field("path")
    return _verified(path, str(path))


@bp.post("/verify-package/upload")
def verify_upload() -> ResponseReturnValue:
    """The upload streamed to <station>/incoming/, checked there, then removed."""
    with staged_upload("package", "choose a package file to upload") as (path, name):
        return _verified(path, name)
