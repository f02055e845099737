"""The one place where refusals become pages: fixed, translated headings, the library's own line.

Library errors (ReviewError, CryptoError) carry a message safe to show (it names no secret); an
OSError shows its reason and path only; anything else is a 500 with no detail and no traceback.
"""

from flask import Flask, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from crypto import CryptoError
from review.errors import (
    ItemNotFound,
    NoServerPinned,
    PreviewUnavailable,
    RangeNotSatisfiable,
    ReviewError,
)
from review.package_verify import PackageRefused
from review.web.desk import Locked
from review.web.guard import ForeignHost, NotAdmitted

HEADINGS = {
    400: _l("The station refused this request"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    413: _l("Too large"),
    416: _l("Not found"),
    500: _l("Something went wrong on the station"),
}


def _page(
    status: int, detail: str = "", heading: object = None, link: tuple[str, object] | None = None
) -> tuple[str, int]:
    """The error page; `link` (address, text) is where the reviewer can mend the refusal."""
    heading = heading or HEADINGS.get(status, HEADINGS[500])
    page = render_template("station/error.html", heading=heading, detail=detail, status=status, link=link)
    return page, status


def install(app: Flask) -> None:
    @app.errorhandler(ForeignHost)
    def foreign_host(error: ForeignHost) -> tuple[str, int]:
        return _page(403, str(_l("This address is not the station's. Open the address `serve` printed.")))

    @app.errorhandler(NotAdmitted)
    def not_admitted(error: NotAdmitted) -> tuple[str, int]:
        return _page(403, str(_l("Open the address with the token that `serve` printed, in one browser.")))

    @app.errorhandler(CSRFError)
    def csrf(error: CSRFError) -> tuple[str, int]:
        return _page(
            400, str(_l("The form expired or did not come from this station. Go back and try again."))
        )

    @app.errorhandler(Locked)
    def locked(error: Locked) -> tuple[str, int]:
        return _page(403, str(_l("The station is locked. Unlock it first.")))

    @app.errorhandler(ItemNotFound)
    @app.errorhandler(PreviewUnavailable)  # not viewable as asked, or the sandbox would not render it
    def not_found(error: ReviewError) -> tuple[str, int]:
        return _page(404, str(error))

    @app.errorhandler(RangeNotSatisfiable)
    def no_such_range(error: RangeNotSatisfiable) -> tuple[str, int]:
        return _page(416, str(error))

    @app.errorhandler(PackageRefused)
    def package_refused(error: PackageRefused) -> tuple[str, int]:
        return _page(400, str(error), _l("This package does not verify"))

    @app.errorhandler(NoServerPinned)
    def no_server_pinned(error: NoServerPinned) -> tuple[str, int]:
        return _page(400, str(error), link=(url_for("station_keys.index"), _l("Pin an intake server key")))

    @app.errorhandler(ReviewError)
    @app.errorhandler(CryptoError)
    def refused(error: Exception) -> tuple[str, int]:
        return _page(400, str(error))

    @app.errorhandler(OSError)
    def os_error(error: OSError) -> tuple[str, int]:
        where = f": {error.filename}" if error.filename else ""
        return _page(400, f"{error.strerror or type(error).__name__}{where}")

    @app.errorhandler(SQLAlchemyError)
    def database(error: SQLAlchemyError) -> tuple[str, int]:
        return _page(500, f"catalogue database error ({type(error).__name__})")

    @app.errorhandler(HTTPException)
    def http(error: HTTPException) -> tuple[str, int]:
        return _page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        return _page(500)
