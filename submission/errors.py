"""The intake's domain errors; submission/pages.py turns each into one fixed, translated page."""

from flask_babel import lazy_gettext as _l


class IntakeError(Exception):
    """A refusal with an HTTP status and a message safe to show a source."""

    status = 400
    message = _l("Something in your request was not right. Please go back and try again.")

    def __init__(self, message: object | None = None) -> None:
        super().__init__()
        if message is not None:
            self.message = message


class BadSubmission(IntakeError):
    status = 400


class FormExpired(IntakeError):
    status = 400
    message = _l(
        "This form has expired or was not sent from this site. Please go back, reload the page "
        "and send it again."
    )


class NotLoggedIn(IntakeError):
    status = 403
    message = _l("Your session has ended. Please log in again with your codename.")


class UnknownCodename(IntakeError):
    status = 403
    message = _l("That codename is not recognised. Check the words and try again.")


class TooLarge(IntakeError):
    status = 413
    message = _l("This submission is too large. Send fewer or smaller files at a time.")


class Busy(IntakeError):
    status = 503
    message = _l("The service is busy right now. Please wait a few minutes and try again.")


class OutOfSpace(IntakeError):
    status = 507
    message = _l(
        "The service cannot store this right now. Nothing you sent was kept. Please try again later."
    )


class UploadInterrupted(IntakeError):
    status = 400
    message = _l("The upload was interrupted before it finished, so nothing was kept. Please try again.")


class TooSlow(IntakeError):
    status = 408
    message = _l(
        "The connection was too slow, so the upload was stopped and nothing was kept. Please try "
        "again, if you can on a new Tor circuit."
    )


class TooManyUploads(IntakeError):
    status = 429
    message = _l(
        "You are already sending as many uploads as you can at once. Wait for one to finish, then try again."
    )
