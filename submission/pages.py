"""The one place errors become pages: the status and fixed, translated message of submission/errors.py."""

import traceback

from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from submission.errors import (
    Busy,
    Forbidden,
    FormExpired,
    IntakeError,
    NotFound,
    OutOfSpace,
    ServerFault,
    TooLarge,
    WrongMethod,
)

# The refusal a bare HTTP error shows (a 404 from routing, a 413 from Werkzeug, a 400 from Flask):
# the one that stands for its status. Refusals our code raises carry their own and need no entry.
BARE_HTTP_ERRORS: dict[int, type[IntakeError]] = {
    refusal.status: refusal
    for refusal in (IntakeError, Forbidden, NotFound, WrongMethod, TooLarge, ServerFault, Busy, OutOfSpace)
}

FALLBACK_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Error</title>'
    "<p>Something went wrong. Please go back and try again.</p></html>"
)


def error_page(status: int, message: object) -> tuple[str, int]:
    try:
        return render_template("intake/error.html", status=status, message=message), status
    except Exception:  # an error page must never fail into a traceback
        return FALLBACK_PAGE, status


def refusal_for_status(status: int) -> type[IntakeError]:
    """The refusal that stands for an HTTP status; one we do not know reads as a 400 or a 500."""
    return BARE_HTTP_ERRORS.get(status) or BARE_HTTP_ERRORS[400 if status < 500 else 500]


def install(app: Flask) -> None:
    @app.errorhandler(IntakeError)
    def intake_error(error: IntakeError) -> tuple[str, int]:
        return error_page(error.status, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_: CSRFError) -> tuple[str, int]:
        return error_page(FormExpired.status, FormExpired.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | tuple[str, int]:
        status = error.code or 500
        return error_page(status, refusal_for_status(status).message)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        # Frames only: an exception's message could carry request data.
        frames = "".join(traceback.format_tb(error.__traceback__))
        app.logger.error("unhandled %s\n%s", type(error).__name__, frames)
        return error_page(ServerFault.status, ServerFault.message)
