"""The intake's one error family: every error it defines, its page (status, translated message), its CLI line.

A new refusal is one class with a status and a message: these tests find it by walking the family,
so it gets its page and its CLI line, and must be translated, without any edit here.
"""

import errno
import html
import importlib
import inspect
import pkgutil
from collections.abc import Callable

import click
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import LazyString
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

import submission
from crypto import CryptoError
from submission.cli_support import clean_errors
from submission.errors import IntakeError, OperatorError, ServerFault
from submission.export import ExportError
from submission.replies import RepliesRefused
from submission.settings import SettingsError
from submission.store import DiskFullError
from submission.web import UnknownHost
from tests.support.i18n import translations
from tests.support.station import invoke

MODULES = [importlib.import_module(f"submission.{m.name}") for m in pkgutil.iter_modules(submission.__path__)]

# The texts as they were before the family derived them (translated in every catalogue).
BARE_HTTP_PAGES = {
    400: "Something in your request was not right. Please go back and try again.",
    403: "You cannot open this page. If you have a codename, log in first.",
    404: "There is no page at this address.",
    405: "This page cannot be used that way. Please go back and use the form.",
    413: "This submission is too large. Send fewer or smaller files at a time.",
    500: "Something went wrong on our side. Nothing you sent is lost if you saw a confirmation.",
    503: "The service is busy right now. Please wait a few minutes and try again.",
    507: "The service cannot store this right now. Nothing you sent was kept. Please try again later.",
}
SECRET_DETAIL = "cannot read /srv/tamga/secret_key: Permission denied"


def family(base: type[IntakeError] = IntakeError) -> list[type[IntakeError]]:
    """Every class of the family that submission/ defines, base first."""
    found = [base] if base.__module__.startswith("submission.") else []
    for sub in base.__subclasses__():
        found += [c for c in family(sub) if c not in found]
    return found


def instance(refusal: type[IntakeError]) -> IntakeError:
    return refusal(SECRET_DETAIL) if issubclass(refusal, OperatorError) else refusal()


def shown(page: str) -> str:
    return html.unescape(page)


@pytest.fixture
def raising_client(app: Flask) -> FlaskClient:
    """The app with a route that raises the named error class, and one that raises a bare HTTP error."""
    by_name = {refusal.__qualname__: refusal for refusal in family()}

    def raise_named(name: str) -> str:
        raise instance(by_name[name])

    def abort_with(status: int) -> str:
        # What Werkzeug or Flask raise on their own, for any status (Werkzeug has no class for 507).
        raise type("Bare", (HTTPException,), {"code": status})()

    app.add_url_rule("/test/raise/<name>", view_func=raise_named)
    app.add_url_rule("/test/abort/<int:status>", view_func=abort_with)
    return app.test_client()


# --- one family ---------------------------------------------------------------------------


def test_every_exception_submission_defines_is_in_the_family() -> None:
    defined = [
        member
        for module in MODULES
        for _, member in inspect.getmembers(module, inspect.isclass)
        if issubclass(member, Exception) and member.__module__ == module.__name__
    ]
    assert len(defined) >= 15
    outside = [c.__qualname__ for c in defined if not issubclass(c, IntakeError)]
    assert outside == []


@pytest.mark.parametrize(
    ("error", "base"),
    [
        (SettingsError, OperatorError),
        (ExportError, OperatorError),
        (RepliesRefused, OperatorError),
        (DiskFullError, IntakeError),
        (UnknownHost, IntakeError),
    ],
)
def test_the_errors_that_stood_apart_join_it(error: type[Exception], base: type[IntakeError]) -> None:
    assert issubclass(error, base)


@pytest.mark.parametrize("refusal", family(), ids=lambda c: c.__qualname__)
def test_every_refusal_has_a_status_and_a_translated_message(refusal: type[IntakeError]) -> None:
    assert 400 <= refusal.status <= 599
    assert isinstance(refusal.message, LazyString), "mark the message with _l(...)"
    msgid = str(refusal.message)
    for lang in ("ru", "kk"):
        assert translations(lang).gettext(msgid) != msgid, f"{msgid!r} untranslated in {lang}"


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("refusal", family(), ids=lambda c: c.__qualname__)
def test_every_refusal_becomes_its_page(raising_client: FlaskClient, refusal: type[IntakeError]) -> None:
    msgid = str(refusal.message)
    page = raising_client.get(f"/test/raise/{refusal.__qualname__}")
    assert page.status_code == refusal.status
    assert f'data-status="{refusal.status}">{msgid}</p>' in shown(page.text)
    page = raising_client.get(f"/test/raise/{refusal.__qualname__}", headers={"Accept-Language": "ru"})
    assert page.status_code == refusal.status
    assert translations("ru").gettext(msgid) in shown(page.text)
    assert "Traceback" not in page.text


def test_an_operator_error_on_the_web_is_a_plain_500(raising_client: FlaskClient) -> None:
    for refusal in family(OperatorError):
        page = raising_client.get(f"/test/raise/{refusal.__qualname__}")
        assert page.status_code == 500
        assert str(ServerFault.message) in shown(page.text)
        assert "secret_key" not in page.text and "/srv/tamga" not in page.text


@pytest.mark.parametrize(("status", "text"), BARE_HTTP_PAGES.items())
def test_a_bare_http_error_shows_the_text_of_its_status(
    raising_client: FlaskClient, status: int, text: str
) -> None:
    page = raising_client.get(f"/test/abort/{status}")
    assert page.status_code == status
    assert f'data-status="{status}">{text}</p>' in shown(page.text)


@pytest.mark.parametrize(("status", "like"), [(418, 400), (429, 400), (501, 500), (502, 500)])
def test_an_unlisted_status_reads_as_a_400_or_a_500(
    raising_client: FlaskClient, status: int, like: int
) -> None:
    page = raising_client.get(f"/test/abort/{status}")
    assert page.status_code == status
    assert BARE_HTTP_PAGES[like] in shown(page.text)


def test_real_routing_errors_use_the_family(client: FlaskClient) -> None:
    assert BARE_HTTP_PAGES[404] in shown(client.get("/no/such/page").text)
    assert BARE_HTTP_PAGES[405] in shown(client.delete("/").text)


# --- the command line -----------------------------------------------------------------------


class NovelRefusal(IntakeError):
    """What another branch might add: nothing but a status and a message."""

    status = 429
    message = "Too many uploads at once. Please try again in a few minutes."


def failing_command(error: BaseException) -> click.Command:
    @click.command()
    @clean_errors
    def command() -> None:
        raise error

    return command


CLI_LINES: list[tuple[Callable[[], BaseException], str]] = [
    (lambda: SettingsError(SECRET_DETAIL), SECRET_DETAIL),
    (
        lambda: ExportError("out.tar already exists: refusing to overwrite it"),
        "out.tar already exists: refusing to overwrite it",
    ),
    (
        lambda: RepliesRefused("outbox manifest lists the same reply twice"),
        "outbox manifest lists the same reply twice",
    ),
    (lambda: OperatorError("x is not a loopback address"), "x is not a loopback address"),
    (DiskFullError, BARE_HTTP_PAGES[507]),
    (NovelRefusal, "Too many uploads at once. Please try again in a few minutes."),
    (lambda: CryptoError("not a valid age1 recipient"), "not a valid age1 recipient"),
    (
        lambda: OSError(errno.ENOENT, "No such file or directory", "out.tar"),
        "[Errno 2] No such file or directory: 'out.tar'",
    ),
    (lambda: OperationalError("SELECT secret", {}, Exception("locked")), "database error (OperationalError)"),
]


@pytest.mark.parametrize(("make", "line"), CLI_LINES)
def test_the_cli_prints_one_line_and_exits_1(make: Callable[[], BaseException], line: str) -> None:
    result = invoke(failing_command(make()), [])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr == f"Error: {line}\n"
    assert result.stdout == ""


def test_the_cli_leaves_other_bugs_alone() -> None:
    result = invoke(failing_command(KeyError("a bug")), [])
    assert isinstance(result.exception, KeyError)
