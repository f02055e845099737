"""Nothing that points back at a source is logged: no codename, address, user agent, file name or message."""

import io
import logging
from pathlib import Path

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from submission import receiver
from submission.codenames import new_codename
from tests.support.forms import csrf_token, new_source, stored_files, submit_token

ADDRESS = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0 UA-MARKER-5b1e"
FILE_NAME = "FILENAME-MARKER-91c4 station 7.mp4"
MESSAGE = "MESSAGE-MARKER-3d2a: the chairman carried ballots out at 19:40"


def _everything_logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    parts = [caplog.text, out, err]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(record.exc_text or "")
        parts.append(record.stack_info or "")
    return "\n".join(parts)


def _forms(codename: str) -> list[str]:
    words = codename.split()
    forms = {codename, codename.upper(), "".join(words)}
    forms.update(" ".join(words[i : i + 2]) for i in range(len(words) - 1))
    return sorted(forms)


@pytest.fixture
def watched(app: Flask, caplog: pytest.LogCaptureFixture) -> FlaskClient:
    """A client with a distinctive address and user agent, every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app.logger.name)
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    return client


def test_the_journey_logs_nothing_about_the_source(
    app: Flask,
    watched: FlaskClient,
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    codename = new_source(watched)
    token = submit_token(watched)
    files = [(io.BytesIO(b"video bytes"), FILE_NAME, "video/mp4")]
    response = watched.post(
        "/submit",
        data={"csrf_token": token, "message": MESSAGE, "files": files},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    watched.post("/logout", data={"csrf_token": submit_token(watched)})
    token = csrf_token(watched.get("/").get_data(as_text=True))
    wrong = new_codename()
    assert watched.post("/login", data={"csrf_token": token, "codename": wrong}).status_code == 403
    assert watched.post("/login", data={"csrf_token": token, "codename": codename.upper()}).status_code == 200
    assert watched.post("/login", data={"csrf_token": "forged", "codename": codename}).status_code == 400
    assert watched.get(f"/{FILE_NAME}").status_code == 404
    refused = watched.post(
        "/submit",
        data={"message": MESSAGE, "files": [(io.BytesIO(b"v"), FILE_NAME, "video/mp4")]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400

    logging.getLogger("tamga.test").debug("PROBE-MARKER")
    logged = _everything_logged(caplog, capfd)
    assert "PROBE-MARKER" in logged, "the capture sees DEBUG records"
    for secret in [*_forms(codename), *_forms(wrong), ADDRESS, "127.0.0.1", USER_AGENT, "UA-MARKER"]:
        assert secret not in logged
    for secret in (FILE_NAME, "FILENAME-MARKER", MESSAGE, "MESSAGE-MARKER"):
        assert secret not in logged

    app.extensions["tamga.engine"].dispose()
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            for secret in (ADDRESS, "UA-MARKER", "FILENAME-MARKER", "MESSAGE-MARKER", codename):
                assert secret.encode() not in content, f"{secret} kept in {path.name}"


def test_an_unhandled_exception_logs_its_type_but_not_its_message(
    app: Flask,
    watched: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    @app.get("/boom")
    def boom() -> str:
        # The message comes from the request, as a real leak would; the frame's source line
        # (which the log does show) holds no marker.
        raise RuntimeError(request.headers["X-Detail"])

    response = watched.get("/boom", headers={"X-Detail": "SECRET-MARKER"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side." in page
    assert "SECRET-MARKER" not in page
    assert "RuntimeError" not in page
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "unhandled RuntimeError" in errors[0].getMessage()
    assert errors[0].exc_info is None
    logged = _everything_logged(caplog, capfd)
    assert "RuntimeError" in logged
    assert "SECRET-MARKER" not in logged
    assert ADDRESS not in logged
    assert "UA-MARKER" not in logged


def test_a_failure_while_sealing_logs_no_file_name_and_keeps_nothing(
    app: Flask,
    watched: FlaskClient,
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug deep in sealing whose exception message carries the plaintext file metadata."""
    new_source(watched)
    token = submit_token(watched)

    def broken_seal(plaintext: bytes, recipients: object) -> bytes:
        raise RuntimeError(plaintext.decode())

    monkeypatch.setattr(receiver, "seal_bytes", broken_seal)
    response = watched.post(
        "/submit",
        data={"csrf_token": token, "files": [(io.BytesIO(b"video"), FILE_NAME, "video/mp4")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 500
    assert "FILENAME-MARKER" not in response.get_data(as_text=True)
    assert stored_files(data_dir) == []
    logged = _everything_logged(caplog, capfd)
    assert "unhandled RuntimeError" in logged
    assert "FILENAME-MARKER" not in logged
