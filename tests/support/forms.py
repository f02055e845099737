"""The intake's pages through Flask's test client, as a browser without JavaScript uses them: the
CSRF token of a page, a source's first visit, and the submit form."""

import io
import re
from collections.abc import Sequence
from pathlib import Path

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

ONION = "a" * 56 + ".onion"
FileSpec = tuple[bytes, str, str]  # content, file name, declared type


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def codename_on(html: str) -> str:
    match = re.search(r'id="codename"[^>]*>([^<]+)<', html)
    assert match, 'the page has no id="codename"'
    return match.group(1).strip()


def new_source(client: FlaskClient) -> str:
    """Walk the first visit: landing, then a codename; return the codename."""
    token = csrf_token(client.get("/").get_data(as_text=True))
    return codename_on(client.post("/codename", data={"csrf_token": token}).get_data(as_text=True))


def submit_token(client: FlaskClient) -> str:
    return csrf_token(client.get("/submit").get_data(as_text=True))


def post_submission(
    client: FlaskClient, token: str, message: str = "", files: Sequence[FileSpec] = ()
) -> TestResponse:
    """POST the submit form the way a browser does: token first, then message, then files."""
    return client.post(
        "/submit",
        data={
            "csrf_token": token,
            "message": message,
            "files": [(io.BytesIO(content), name, kind) for content, name, kind in files],
        },
        content_type="multipart/form-data",
    )


def submit_form(client: FlaskClient, message: str = "", files: Sequence[FileSpec] = ()) -> None:
    """One submission by the source logged in on `client`, as a browser without JavaScript sends it."""
    response = post_submission(client, submit_token(client), message, files)
    page = response.get_data(as_text=True)
    assert response.status_code == 303, page[page.find("<main") :][:500]


def stored_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in (data_dir / "store").iterdir())
