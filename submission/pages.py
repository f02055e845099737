"""The one place domain errors become pages: a fixed, translated message and a status; no traceback."""

import traceback

from flask import Flask, Response, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from submission.errors import FormExpired, IntakeError, TooLarge

HTTP_MESSAGES = {
    400: _l("Something in your request was not right. Please go back and try again."),
    403: _l("You cannot open this page. If you have a codename, log in first."),
    404: _l("There is no page at this address."),
    405: _l("This page cannot be used that way. Please go back and use the form."),
    413: _l("This submission is too large. Send fewer or smaller files at a time."),
    500: _l("Something went wrong on our side. Nothing you sent is lost if you saw a confirmation."),
    503: _l("The service is busy right now. Please wait a few minutes and try again."),
    507: _l("The service cannot store this right now. Nothing you sent was kept. Please try again later."),
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


def install(app: Flask) -> None:
    @app.errorhandler(IntakeError)
    def intake_error(error: IntakeError) -> tuple[str, int]:
        return error_page(error.status, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_: CSRFError) -> tuple[str, int]:
        return error_page(400, FormExpired.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | tuple[str, int]:
        status = error.code or 500
        if status == 413:
            return error_page(413, TooLarge.message)
        return error_page(status, HTTP_MESSAGES.get(status, HTTP_MESSAGES[400 if status < 500 else 500]))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        # Frames only: an exception's message could carry request data.
        frames = "".join(traceback.format_tb(error.__traceback__))
        app.logger.error("unhandled %s\n%s", type(error).__name__, frames)
        return error_page(500, HTTP_MESSAGES[500])
