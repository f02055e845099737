"""The custody log's checks from the browser: `tamga-review custody verify`, and `--deep` on demand.

The page runs what the command runs: review/custody.py's check of every signature and the chain,
then review/custody_replay.py's replay of the catalogue against the events; the deep check also
re-hashes every vault envelope. A failed check is this page's result, not an error: it lists
every difference found (the command's one line shows the first 20 of the same list).
"""

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from review import custody, custody_replay
from review.errors import CustodyBroken
from review.models import Item
from review.vault import Vault
from review.web import context

bp = Blueprint("custody_check", __name__, url_prefix="/custody")


def _checked(deep: bool) -> ResponseReturnValue:
    db, station = context.db(), context.station()
    events, head, broken, differences = 0, "", None, []
    try:
        events, head = custody.verify(db, station.verify_key)
    except CustodyBroken as error:
        broken = str(error)  # as the command: no replay over a log that does not verify
    else:
        vault = Vault(station.vault_dir) if deep else None
        differences = custody_replay.differences(db, station.verify_key, vault)
    return render_template(
        "station/custody.html",
        deep=deep,
        events=events,
        head=head,
        broken=broken,
        differences=differences,
        items=db.scalar(select(func.count()).select_from(Item)) or 0,
    )


@bp.get("")
def index() -> ResponseReturnValue:
    return _checked(deep=False)


@bp.post("/deep")
def deep() -> ResponseReturnValue:
    """Hash every envelope in the vault: only ciphertext is read, but it may take a while."""
    return _checked(deep=True)
