"""What a tus piece costs the server, and what still holds: a part is fsynced once, when the
upload is complete, not after every piece; after a reboot (another kernel boot id beside the
uploads directory) the first start forgets every incomplete upload, whose unsynced bytes may be
gone, and keeps complete ones; a piece of an unchanged session only reads its row.
See docs/threat-model.md, "Resumable uploads after a crash"."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event

from crypto import X25519Identity, seal_bytes
from submission import boots
from submission.app import create_app
from submission.settings import Settings
from submission.uploads import UPLOADS_DIR
from tests.submission.test_tus_protocol import logged_in
from tests.support.tus import TusClient

CHUNK = 64 * 1024


@pytest.fixture
def tus(app: Flask) -> TusClient:
    return logged_in(app)[1]


@pytest.fixture
def part_fsyncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the upload parts fsynced, in order."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if f"/{UPLOADS_DIR}/" in name and name.endswith(".part"):
            synced.append(Path(name).name)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    yield synced


@pytest.mark.skipif(boots.current_boot_id() is None, reason="no kernel boot id: every piece is fsynced")
def test_a_part_is_fsynced_once_when_complete(
    tus: TusClient, reviewer: X25519Identity, part_fsyncs: list[str]
) -> None:
    envelope = seal_bytes(os.urandom(5 * CHUNK + 7), [reviewer.recipient])
    location = tus.create_ok("file-content", 1, len(envelope))
    for offset in range(0, len(envelope), CHUNK):
        assert tus.patch(location, offset, envelope[offset : offset + CHUNK]).status == 204
        complete = offset + CHUNK >= len(envelope)
        assert len(part_fsyncs) == (1 if complete else 0), "no fsync until the last piece"
    assert tus.offset(location) == len(envelope)


def test_after_a_reboot_incomplete_uploads_are_forgotten_and_complete_ones_kept(
    app: Flask, tus: TusClient, settings: Settings, reviewer: X25519Identity, data_dir: Path
) -> None:
    envelope = seal_bytes(os.urandom(3 * CHUNK), [reviewer.recipient])
    half = tus.create_ok("file-content", 1, len(envelope))
    assert tus.patch(half, 0, envelope[: 2 * CHUNK]).status == 204
    whole = tus.create_ok("file-content", 2, len(envelope))
    assert tus.patch(whole, 0, envelope).status == 204
    assert len(list((data_dir / UPLOADS_DIR).glob("*.part"))) == 2

    create_app(settings).extensions["tamga.engine"].dispose()  # the same boot: nothing forgotten
    assert tus.offset(half) == 2 * CHUNK

    boots.marker_for(data_dir / UPLOADS_DIR).write_text("another-boot\n")
    create_app(settings).extensions["tamga.engine"].dispose()  # the first start after a reboot
    assert tus.head(half).status == 404
    assert tus.offset(whole) == len(envelope)
    assert len(list((data_dir / UPLOADS_DIR).glob("*.part"))) == 1
    assert boots.marker_for(data_dir / UPLOADS_DIR).read_text().strip() == boots.current_boot_id()


def test_a_piece_of_an_unchanged_session_only_reads_it(
    app: Flask, tus: TusClient, reviewer: X25519Identity
) -> None:
    envelope = seal_bytes(os.urandom(2 * CHUNK), [reviewer.recipient])
    location = tus.create_ok("file-content", 1, len(envelope))
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "web_sessions" in statement:
            statements.append(statement.lstrip().split()[0].upper())

    engine = app.extensions["tamga.engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert tus.patch(location, 0, envelope[:CHUNK]).status == 204
        assert tus.patch(location, CHUNK, envelope[CHUNK:]).status == 204
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["SELECT", "SELECT"], "one read of the session per piece, no write"
    assert tus.offset(location) == len(envelope), "the session still works"
