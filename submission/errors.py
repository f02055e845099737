"""The intake's one error family: pages.py shows each as a page, cli_support.py as one line.

A new refusal of a web request is one subclass here with a `status` and a translated `message`;
nothing else needs editing.
"""

from flask_babel import lazy_gettext as _l


class IntakeError(Exception):
    """Base of every refusal the intake makes: an HTTP status and a message safe to show a source.

    The message is fixed by the class (translated on the page); a raiser may pass a more precise
    one, which must be as safe. str(error) is the message, untranslated, for the command line.
    """

    status = 400
    message: object = _l("Something in your request was not right. Please go back and try again.")

    def __init__(self, message: object | None = None) -> None:
        super().__init__()
        if message is not None:
            self.message = message

    def __str__(self) -> str:
        return str(self.message)


class BadSubmission(IntakeError):
    status = 400


class FormExpired(IntakeError):
    status = 400
    message = _l(
        "This form has expired or was not sent from this site. Please go back, reload the page "
        "and send it again."
    )


class UnknownHost(IntakeError):
    """The Host header names neither loopback nor one of our onion addresses."""

    status = 400


class Forbidden(IntakeError):
    status = 403
    message = _l("You cannot open this page. If you have a codename, log in first.")


class NotLoggedIn(Forbidden):
    status = 403
    message = _l("Your session has ended. Please log in again with your codename.")


class UnknownCodename(Forbidden):
    status = 403
    message = _l("That codename is not recognised. Check the words and try again.")


class NotFound(IntakeError):
    status = 404
    message = _l("There is no page at this address.")


class WrongMethod(IntakeError):
    status = 405
    message = _l("This page cannot be used that way. Please go back and use the form.")


class TooLarge(IntakeError):
    status = 413
    message = _l("This submission is too large. Send fewer or smaller files at a time.")


class ServerFault(IntakeError):
    """Something failed on our side; the page promises nothing it cannot know."""

    status = 500
    message = _l("Something went wrong on our side. Nothing you sent is lost if you saw a confirmation.")


class OperatorError(ServerFault):
    """A refusal for the operator at the command line (settings, export, replies, a bad flag).

    Its detail names paths and causes, so it is printed there and never shown on a page: one
    that reaches the web is a plain 500.
    """

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


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


class UploadConflict(IntakeError):
    """A piece of a resumable upload not at its offset, or sent while another piece is written."""

    status = 409


class UnsupportedUploadType(IntakeError):
    """A piece of a resumable upload not sent as application/offset+octet-stream."""

    status = 415


class UnsupportedProtocol(IntakeError):
    """A resumable-upload request without `Tus-Resumable: 1.0.0`."""

    status = 412
