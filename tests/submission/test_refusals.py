"""Every refusal: its status, its fixed message on a full page, and nothing written to the store."""

import dataclasses
import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from submission.app import create_app
from submission.models import Envelope, Source, Submission
from submission.settings import Settings
from submission.store import EnvelopeStore, PendingEnvelope
from tests.support.forms import ONION, csrf_token, new_source, stored_files, submit_token

GENERIC = "Something in your request was not right. Please go back and try again."
FORM_EXPIRED = (
    "This form has expired or was not sent from this site. Please go back, reload the page and send it again."
)
SESSION_ENDED = "Your session has ended. Please log in again with your codename."
NOTHING_TO_SEND = "There was nothing to send. Write a message or choose at least one file."
TOO_LARGE = "This submission is too large. Send fewer or smaller files at a time."
BUSY = "The service is busy right now. Please wait a few minutes and try again."
OUT_OF_SPACE = "The service cannot store this right now. Nothing you sent was kept. Please try again later."
INTERRUPTED = "The upload was interrupted before it finished, so nothing was kept. Please try again."
NOT_FOUND = "There is no page at this address."
WRONG_METHOD = "This page cannot be used that way. Please go back and use the form."

BOUNDARY = "----tamgaTestBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
VIDEO = b"\x00\x00\x00\x18ftypmp42 not really a video " * 2000

Part = tuple[str, bytes, str | None]  # field name, content, file name (None for a plain field)
MakeApp = Callable[..., tuple[Flask, FlaskClient]]


def multipart(parts: list[Part], boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body as a browser writes it, parts in the order given."""
    body = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
            headers = f"Content-Disposition: {disposition}\r\nContent-Type: video/mp4\r\n"
        else:
            headers = f"Content-Disposition: {disposition}\r\n"
        body += f"--{boundary}\r\n{headers}\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def post_body(client: FlaskClient, body: bytes, content_type: str = CONTENT_TYPE) -> TestResponse:
    return client.post("/submit", data=body, content_type=content_type)


def assert_error_page(response: TestResponse, status: int, message: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert page.startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")
    assert f'data-status="{status}"' in page
    assert message in page
    assert "Traceback" not in page
    assert 'File "' not in page


def assert_nothing_written(app: Flask, data_dir: Path) -> None:
    assert stored_files(data_dir) == []
    assert list(data_dir.rglob("*.part")) == []
    with app.extensions["tamga.db"]() as db:
        for model in (Source, Submission, Envelope):
            assert db.scalar(select(func.count()).select_from(model)) == 0


@pytest.fixture
def token(client: FlaskClient) -> str:
    """A source who was just shown a codename, on the submit page: its CSRF token."""
    new_source(client)
    return submit_token(client)


@pytest.fixture
def make_app(settings: Settings) -> Iterator[MakeApp]:
    """Apps on the same data directory with other limits."""
    apps: list[Flask] = []

    def make(**limits: int) -> tuple[Flask, FlaskClient]:
        limited = dataclasses.replace(settings, limits=dataclasses.replace(settings.limits, **limits))
        app = create_app(limited)
        app.config["TESTING"] = True
        apps.append(app)
        return app, app.test_client()

    yield make
    for app in apps:
        app.extensions["tamga.engine"].dispose()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[PendingEnvelope]:
    """Every envelope the store starts, even one removed again before the response."""
    started: list[PendingEnvelope] = []
    original = EnvelopeStore.new

    def new(store: EnvelopeStore) -> PendingEnvelope:
        started.append(original(store))
        return started[-1]

    monkeypatch.setattr(EnvelopeStore, "new", new)
    return started


def file_part(content: bytes = VIDEO, name: str = "station-12.mp4") -> Part:
    return ("files", content, name)


SUBMIT_REFUSALS: list[tuple[str, Callable[[str], bytes], int, str]] = [
    (
        "no-csrf-token",
        lambda token: multipart([("message", b"hello", None), file_part()]),
        400,
        FORM_EXPIRED,
    ),
    ("only-a-file", lambda token: multipart([file_part()]), 400, FORM_EXPIRED),
    (
        "csrf-token-after-message",
        lambda token: multipart(
            [("message", b"hello", None), ("csrf_token", token.encode(), None), file_part()]
        ),
        400,
        FORM_EXPIRED,
    ),
    (
        "csrf-token-after-file",
        lambda token: multipart([file_part(), ("csrf_token", token.encode(), None)]),
        400,
        FORM_EXPIRED,
    ),
    (
        "csrf-token-sent-as-a-file",
        lambda token: multipart([("csrf_token", token.encode(), "token.txt"), file_part()]),
        400,
        FORM_EXPIRED,
    ),
    (
        "bad-csrf-token",
        lambda token: multipart(
            [("csrf_token", b"not-a-token", None), ("message", b"hi", None), file_part()]
        ),
        400,
        FORM_EXPIRED,
    ),
    (
        "tampered-csrf-token",
        lambda token: multipart(
            [("csrf_token", (("J" if token[0] != "J" else "K") + token[1:]).encode(), None), file_part()]
        ),
        400,
        FORM_EXPIRED,
    ),
    (
        "oversized-csrf-token",
        lambda token: multipart([("csrf_token", b"A" * 600, None), file_part()]),
        400,
        FORM_EXPIRED,
    ),
    (
        "empty-submission",
        lambda token: multipart(
            [("csrf_token", token.encode(), None), ("message", b"", None), ("files", b"", "")]
        ),
        400,
        NOTHING_TO_SEND,
    ),
    (
        "blank-message-only",
        lambda token: multipart([("csrf_token", token.encode(), None), ("message", b" \r\n \t ", None)]),
        400,
        NOTHING_TO_SEND,
    ),
    (
        "token-only",
        lambda token: multipart([("csrf_token", token.encode(), None)]),
        400,
        NOTHING_TO_SEND,
    ),
    (
        "too-many-files",
        lambda token: multipart(
            [("csrf_token", token.encode(), None)] + [file_part(b"x", f"{i}.jpg") for i in range(21)]
        ),
        413,
        TOO_LARGE,
    ),
    (
        "file-under-another-field",
        lambda token: multipart([("csrf_token", token.encode(), None), ("attachment", VIDEO, "a.mp4")]),
        400,
        GENERIC,
    ),
    (
        "message-not-utf8",
        lambda token: multipart([("csrf_token", token.encode(), None), ("message", b"\xff\xfe bad", None)]),
        400,
        GENERIC,
    ),
    ("garbage", lambda token: b"this is not a multipart body", 400, GENERIC),
    (
        "part-without-disposition",
        lambda token: f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
        400,
        GENERIC,
    ),
    (
        "part-without-headers",
        lambda token: f"--{BOUNDARY}\r\n\r\n\r\n--{BOUNDARY}--\r\n".encode(),
        400,
        GENERIC,
    ),
]


@pytest.mark.parametrize(
    ("build", "status", "message"),
    [pytest.param(build, status, message, id=name) for name, build, status, message in SUBMIT_REFUSALS],
)
def test_submit_refusal_writes_nothing(
    app: Flask,
    client: FlaskClient,
    data_dir: Path,
    token: str,
    opened: list[PendingEnvelope],
    build: Callable[[str], bytes],
    status: int,
    message: str,
) -> None:
    response = post_body(client, build(token))
    assert_error_page(response, status, message)
    assert_nothing_written(app, data_dir)
    if message == FORM_EXPIRED:
        assert opened == [], "an envelope was started before the CSRF token was checked"
    assert (
        post_body(client, multipart([("csrf_token", token.encode(), None), file_part()])).status_code == 303
    )


TRUNCATED_BODIES: list[tuple[str, Callable[[str], bytes]]] = [
    (
        "in-the-second-file",
        lambda token: multipart(
            [("csrf_token", token.encode(), None), file_part(b"first"), file_part(VIDEO, "second.mp4")]
        )[: -len(VIDEO) // 2],
    ),
    (
        "before-the-closing-boundary",
        lambda token: multipart([("csrf_token", token.encode(), None), file_part()])[:-8],
    ),
    (
        "in-the-message",
        lambda token: multipart([("csrf_token", token.encode(), None), ("message", b"m" * 5000, None)])[
            :-2000
        ],
    ),
    ("in-the-csrf-token", lambda token: multipart([("csrf_token", token.encode(), None)])[:60]),
]


@pytest.mark.parametrize("build", [pytest.param(build, id=name) for name, build in TRUNCATED_BODIES])
def test_a_truncated_body_writes_nothing(
    app: Flask, client: FlaskClient, data_dir: Path, token: str, build: Callable[[str], bytes]
) -> None:
    """The body ends (with a Content-Length that matches) before the closing boundary."""
    response = post_body(client, build(token))
    assert_error_page(response, 400, "")
    assert GENERIC in response.get_data(as_text=True) or INTERRUPTED in response.get_data(as_text=True)
    assert_nothing_written(app, data_dir)


@pytest.mark.parametrize("build", [pytest.param(build, id=name) for name, build in TRUNCATED_BODIES])
def test_a_truncated_body_says_the_upload_was_interrupted(
    client: FlaskClient, token: str, build: Callable[[str], bytes]
) -> None:
    assert_error_page(post_body(client, build(token)), 400, INTERRUPTED)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
    ],
)
def test_submit_refuses_a_body_that_is_not_multipart_with_a_boundary(
    app: Flask, client: FlaskClient, data_dir: Path, token: str, content_type: str
) -> None:
    body = multipart([("csrf_token", token.encode(), None), file_part()])
    assert_error_page(post_body(client, body, content_type), 400, GENERIC)
    assert_nothing_written(app, data_dir)


def test_submit_refuses_an_upload_cut_off_mid_stream(
    app: Flask, client: FlaskClient, data_dir: Path, token: str
) -> None:
    """The client disconnects: fewer bytes arrive than Content-Length promised."""
    body = multipart([("csrf_token", token.encode(), None), file_part(b"first"), file_part(VIDEO, "b.mp4")])
    response = client.post(
        "/submit",
        input_stream=io.BytesIO(body[: len(body) // 2]),
        content_type=CONTENT_TYPE,
        environ_overrides={"CONTENT_LENGTH": str(len(body))},
    )
    assert_error_page(response, 400, INTERRUPTED)
    assert_nothing_written(app, data_dir)


def test_submit_without_a_session_writes_nothing(
    app: Flask, client: FlaskClient, data_dir: Path, token: str, opened: list[PendingEnvelope]
) -> None:
    stranger = app.test_client()
    stranger.get("/")
    body = multipart([("csrf_token", token.encode(), None), ("message", b"hi", None), file_part()])
    assert_error_page(post_body(stranger, body), 403, SESSION_ENDED)
    assert_nothing_written(app, data_dir)
    assert opened == []


def test_submit_with_another_sessions_token_writes_nothing(
    app: Flask, data_dir: Path, token: str, opened: list[PendingEnvelope]
) -> None:
    other = app.test_client()
    new_source(other)
    body = multipart([("csrf_token", token.encode(), None), file_part()])
    assert_error_page(post_body(other, body), 400, FORM_EXPIRED)
    assert_nothing_written(app, data_dir)
    assert opened == []


def test_total_size_over_the_limit_is_refused(make_app: MakeApp, data_dir: Path) -> None:
    app, client = make_app(max_submission_bytes=1000)
    new_source(client)
    token = submit_token(client).encode()
    over = multipart(
        [("csrf_token", token, None), file_part(b"a" * 600, "a.jpg"), file_part(b"b" * 401, "b.jpg")]
    )
    assert_error_page(post_body(client, over), 413, TOO_LARGE)
    assert_nothing_written(app, data_dir)
    exact = multipart(
        [("csrf_token", token, None), file_part(b"a" * 600, "a.jpg"), file_part(b"b" * 400, "b.jpg")]
    )
    assert post_body(client, exact).status_code == 303


def test_max_files_at_once_are_accepted(app: Flask, client: FlaskClient, data_dir: Path, token: str) -> None:
    files = [file_part(f"{i}".encode(), f"{i}.jpg") for i in range(20)]
    assert post_body(client, multipart([("csrf_token", token.encode(), None), *files])).status_code == 303
    assert len(stored_files(data_dir)) == 40


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    make_app: MakeApp, data_dir: Path
) -> None:
    app, client = make_app(max_submission_bytes=1000, max_message_chars=10)
    new_source(client)
    body = multipart(
        [("csrf_token", submit_token(client).encode(), None), file_part(b"v" * (2 * 1024 * 1024))]
    )
    assert_error_page(post_body(client, body), 413, TOO_LARGE)
    assert_nothing_written(app, data_dir)


def test_message_over_the_limit_is_refused(make_app: MakeApp, data_dir: Path) -> None:
    app, client = make_app(max_message_chars=10)
    new_source(client)
    token = submit_token(client)
    response = client.post(
        "/submit", data={"csrf_token": token, "message": "x" * 11}, content_type="multipart/form-data"
    )
    assert_error_page(response, 413, TOO_LARGE)
    assert_nothing_written(app, data_dir)
    response = client.post(
        "/submit",
        data={"csrf_token": token, "message": "Қазақстан12"[:10]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303


def test_codename_over_the_limit_is_refused(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "codename": "a" * 201})
    assert_error_page(response, 413, TOO_LARGE)


def test_a_form_over_the_ordinary_body_limit_is_refused(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "codename": "a" * (300 * 1024)})
    assert_error_page(response, 413, TOO_LARGE)


def test_disk_reserve_refuses_before_writing(make_app: MakeApp, data_dir: Path) -> None:
    free = shutil.disk_usage(data_dir).free
    app, client = make_app(disk_reserve_bytes=free + 1024**4)
    new_source(client)
    body = multipart(
        [("csrf_token", submit_token(client).encode(), None), ("message", b"m", None), file_part()]
    )
    assert_error_page(post_body(client, body), 507, OUT_OF_SPACE)
    assert_nothing_written(app, data_dir)


def test_upload_cap_answers_busy(make_app: MakeApp, data_dir: Path) -> None:
    app, client = make_app(max_concurrent_uploads=0)
    new_source(client)
    body = multipart([("csrf_token", submit_token(client).encode(), None), file_part()])
    assert_error_page(post_body(client, body), 503, BUSY)
    assert_nothing_written(app, data_dir)


def test_refused_uploads_give_back_their_slot(make_app: MakeApp, data_dir: Path) -> None:
    _, client = make_app(max_concurrent_uploads=1, max_submission_bytes=1000)
    new_source(client)
    token = submit_token(client).encode()
    refusals = [
        multipart([("csrf_token", b"forged", None), file_part(b"v")]),
        multipart([("csrf_token", token, None), file_part(b"v" * 1001)]),
        multipart([("csrf_token", token, None), file_part(b"v")])[:-20],
        multipart([("csrf_token", token, None)]),
    ]
    for body in refusals:
        assert post_body(client, body).status_code in (400, 413)
    assert stored_files(data_dir) == []
    assert post_body(client, multipart([("csrf_token", token, None), file_part(b"v")])).status_code == 303


def test_a_refused_login_gives_back_its_derivation_slot(make_app: MakeApp) -> None:
    _, client = make_app(max_concurrent_derivations=1)
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "codename": "acid " * 7}).status_code == 403
    assert client.post("/codename", data={"csrf_token": token}).status_code == 200


@pytest.mark.parametrize("path", ["/codename", "/login"])
def test_derivation_cap_answers_busy(make_app: MakeApp, path: str) -> None:
    _, client = make_app(max_concurrent_derivations=0)
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, "codename": "acid " * 7})
    assert_error_page(response, 503, BUSY)


@pytest.mark.parametrize(
    ("path", "data"),
    [("/codename", {}), ("/login", {"codename": "acid " * 7}), ("/logout", {})],
)
def test_forms_without_a_csrf_token_are_refused(client: FlaskClient, path: str, data: dict[str, str]) -> None:
    assert_error_page(client.post(path, data=data), 400, FORM_EXPIRED)
    assert_error_page(client.post(path, data={**data, "csrf_token": "forged"}), 400, FORM_EXPIRED)


@pytest.mark.parametrize(
    "host",
    ["evil.example", "127.0.0.2", "b" * 56 + ".onion", "localhost.evil.example", ONION + ".evil.example"],
)
def test_unknown_hosts_are_refused(client: FlaskClient, host: str) -> None:
    assert_error_page(client.get("/", headers={"Host": host}), 400, GENERIC)
    assert_error_page(client.post("/codename", headers={"Host": host}), 400, GENERIC)


def test_unknown_host_is_refused_even_with_a_forwarded_host(client: FlaskClient) -> None:
    response = client.get("/", headers={"Host": "evil.example", "X-Forwarded-Host": "localhost"})
    assert_error_page(response, 400, GENERIC)


@pytest.mark.parametrize(
    "host", [ONION, ONION + ":80", ONION.upper(), "localhost:8080", "127.0.0.1", "[::1]:8080"]
)
def test_known_hosts_are_served(client: FlaskClient, host: str) -> None:
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 200
    assert "Send evidence of election violations safely" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/nowhere", "/submit/", "/static/none.css", "/admin"])
def test_unknown_pages_are_404(client: FlaskClient, path: str) -> None:
    assert_error_page(client.get(path), 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/codename"), ("GET", "/login"), ("GET", "/logout"), ("PUT", "/submit")]
)
def test_wrong_method_is_405(client: FlaskClient, method: str, path: str) -> None:
    assert_error_page(client.open(path, method=method), 405, WRONG_METHOD)


@pytest.mark.parametrize("path", ["/login", "/codename", "/logout"])
def test_a_file_part_outside_the_submit_form_is_refused(client: FlaskClient, path: str) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    data = {"csrf_token": token, "codename": "acid " * 7, "upload": (io.BytesIO(VIDEO), "v.mp4", "video/mp4")}
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert_error_page(response, 400, GENERIC)
