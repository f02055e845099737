"""Fixtures: a fresh data directory and app per test, with a real reviewer identity to open envelopes."""

import io
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from crypto import X25519Identity
from submission.app import create_app
from submission.datadir import create_data_dir
from submission.settings import Settings, load_settings

ONION = "a" * 56 + ".onion"
FileSpec = tuple[bytes, str, str]  # content, file name, declared type


@pytest.fixture
def reviewer() -> X25519Identity:
    return X25519Identity.generate()


@pytest.fixture
def data_dir(tmp_path: Path, reviewer: X25519Identity) -> Path:
    path = tmp_path / "data"
    create_data_dir(path, [reviewer.recipient], onion_addresses=[ONION])
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """SQLite in the data directory, unless a test asks for PostgreSQL."""
    return None


@pytest.fixture
def settings(data_dir: Path, database_url: str | None) -> Settings:
    return load_settings(data_dir, database_url=database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["tamga.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def new_source(client: FlaskClient) -> str:
    """Walk the first visit: landing, then a codename; return the codename."""
    token = csrf_token(client.get("/").get_data(as_text=True))
    page = client.post("/codename", data={"csrf_token": token}).get_data(as_text=True)
    match = re.search(r'id="codename"[^>]*>([^<]+)<', page)
    assert match, page[:500]
    return match.group(1).strip()


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


def stored_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in (data_dir / "store").iterdir())


__all__ = [
    "ONION",
    "FileSpec",
    "csrf_token",
    "new_source",
    "os",
    "post_submission",
    "stored_files",
    "submit_token",
]
