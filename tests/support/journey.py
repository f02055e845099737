"""The source's whole journey through Flask's test client (landing, codename, submit, come back,
log out), and the reads of the app's database and store it checks; shared by the intake suites."""

import datetime
import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import crypto
from crypto import X25519Identity
from submission.models import Envelope, Source, Submission, WebSession
from tests.support.forms import csrf_token, new_source, post_submission, submit_token

MESSAGE = "Ballot stuffing at polling station 12, 14:05.\nБюллетени вбрасывали. Сайлау учаскесі №12."
FILES: list[tuple[bytes, str, str]] = [
    (b"\x00\x01 fake mp4 bytes \xff" * 300, "carousel-voting.mp4", "video/mp4"),
    (b"%PDF-1.4 protocol scan", "protocol 12.pdf", "application/pdf"),
]


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def count(app: Flask, model: type) -> int:
    with app.extensions["tamga.db"]() as db:
        return db.scalar(select(func.count()).select_from(model))


def opened(data_dir: Path, reviewer: X25519Identity, storage_name: str) -> bytes:
    return crypto.open_bytes((data_dir / "store" / storage_name).read_bytes(), [reviewer])


def sealed_contents(app: Flask, data_dir: Path, reviewer: X25519Identity) -> list[tuple[int, str, bytes]]:
    """Every envelope row as (item, kind, opened plaintext), in item order."""
    with app.extensions["tamga.db"]() as db:
        rows = db.scalars(select(Envelope).order_by(Envelope.item, Envelope.kind)).all()
        return [(row.item, row.kind, opened(data_dir, reviewer, row.storage_name)) for row in rows]


def all_data_bytes(data_dir: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in sorted(data_dir.rglob("*")) if path.is_file()]


def codename_forms(codename: str) -> list[bytes]:
    """The codename as typed or shown, and every run of three of its words."""
    words = codename.split()
    forms = {codename, codename.upper(), "".join(words)}
    forms.update(" ".join(words[i : i + 3]) for i in range(len(words) - 2))
    return sorted(form.encode() for form in forms)


def run_journey(app: Flask, client: FlaskClient, data_dir: Path, reviewer: X25519Identity) -> str:
    """The whole journey against one app and database; returns the codename."""
    codename = new_source(client)
    assert count(app, Source) == 0
    response = post_submission(client, submit_token(client), MESSAGE, FILES)
    assert response.status_code == 303
    assert response.headers["Location"] == "/thanks"
    assert "Thank you: your submission was received" in client.get("/thanks").get_data(as_text=True)
    assert count(app, Source) == 1
    assert count(app, Submission) == 1
    assert sealed_contents(app, data_dir, reviewer) == [
        (0, "message", MESSAGE.encode()),
        (1, "file-content", FILES[0][0]),
        (1, "file-metadata", json.dumps({"name": FILES[0][1], "type": FILES[0][2]}).encode()),
        (2, "file-content", FILES[1][0]),
        (2, "file-metadata", json.dumps({"name": FILES[1][1], "type": FILES[1][2]}).encode()),
    ]

    client.post("/logout", data={"csrf_token": submit_token(client)})
    assert client.get("/submit").status_code == 403
    token = csrf_token(client.get("/").get_data(as_text=True))
    retyped = "  " + "   ".join(codename.upper().split()) + " "
    response = client.post("/login", data={"csrf_token": token, "codename": retyped})
    assert response.status_code == 200
    assert f"A submission on {utc_today().isoformat()}" in response.get_data(as_text=True)
    page = client.get("/submit").get_data(as_text=True)
    assert f"A submission on {utc_today().isoformat()}" in page

    for path, content in all_data_bytes(data_dir):
        for form in codename_forms(codename):
            assert form not in content, f"codename found in {path.name}"
    with app.extensions["tamga.db"]() as db:
        for row in db.scalars(select(WebSession)):
            assert not any(form.decode() in row.data for form in codename_forms(codename))
    return codename
