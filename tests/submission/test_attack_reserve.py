"""Issue 11, item 5 (disk): the free-disk reserve counts every upload in flight, chunked ones too.

The disk here is a pretend one: its free space is a fixed capacity less what the store's files
take on disk (their allocated blocks), so the test does not depend on what else the machine
is writing. Uploads claim room ahead of their bytes, and exactly near the reserve; an upload that
runs out gives its room back at once (submission/reserve.py), so the uploads running beside it
finish: what counts is that some are accepted and the accepted never go past the reserve.
"""

import contextlib
import dataclasses
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from submission.app import create_app
from submission.settings import MiB, Settings
from tests.support.forms import new_source, stored_files, submit_token

RESERVE = 64 * MiB
HEADROOM = 20 * MiB  # room for three of the four files, were nothing claimed ahead
FILE = 6 * MiB
UPLOADS = 4
BOUNDARY = "tamgaReserveBoundary"


def allocated(directory: Path) -> int:
    """What the store's files take, as one consistent reading.

    A name that vanishes between the listing and its stat was renamed (a part committed) or
    removed meanwhile: counting it as nothing would show room that is not there, so the
    directory is read again. A real disk's free space (statvfs) has no such gap.
    """
    while True:
        total = 0
        for path in directory.iterdir():
            try:
                total += os.stat(path).st_blocks * 512
            except FileNotFoundError:
                break
        else:
            return total


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    limits = dataclasses.replace(settings.limits, disk_reserve_bytes=RESERVE)
    app = create_app(dataclasses.replace(settings, limits=limits))
    app.config["TESTING"] = True
    reserve = app.extensions["tamga.intake"].store.reserve
    reserve.free_bytes = lambda: RESERVE + HEADROOM - allocated(settings.store_dir)
    yield app
    app.extensions["tamga.engine"].dispose()


class PausedBody(io.RawIOBase):
    """A chunked body (no declared length) that stops half-way until every upload is half-way."""

    def __init__(self, token: str, barrier: threading.Barrier) -> None:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="v.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        self.parts = [
            head + os.urandom(FILE // 2),
            os.urandom(FILE // 2) + f"\r\n--{BOUNDARY}--\r\n".encode(),
        ]
        self.buffer = b""
        self.barrier = barrier

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        if not self.buffer and self.parts:
            if len(self.parts) == 1:
                with contextlib.suppress(threading.BrokenBarrierError):  # one was refused before
                    self.barrier.wait(timeout=10)
            self.buffer = self.parts.pop(0)
        count = min(len(target), len(self.buffer))
        target[:count] = self.buffer[:count]
        self.buffer = self.buffer[count:]
        return count


def post_chunked(client: FlaskClient, body: PausedBody) -> int:
    response = client.post(
        "/submit",
        input_stream=io.BytesIO(b""),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    return response.status_code


def test_concurrent_chunked_uploads_never_eat_into_the_reserve(app: Flask, settings: Settings) -> None:
    clients = [app.test_client() for _ in range(UPLOADS)]
    tokens = []
    for client in clients:
        new_source(client)
        tokens.append(submit_token(client))
    barrier = threading.Barrier(UPLOADS)
    statuses: list[int] = []
    lowest_free = [HEADROOM]

    def watch_free() -> None:
        while not done.is_set():
            lowest_free[0] = min(lowest_free[0], HEADROOM - allocated(settings.store_dir))
            done.wait(0.01)

    def upload(client: FlaskClient, token: str) -> None:
        statuses.append(post_chunked(client, PausedBody(token, barrier)))

    done = threading.Event()
    watcher = threading.Thread(target=watch_free)
    watcher.start()
    threads = [threading.Thread(target=upload, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    watcher.join()
    accepted = statuses.count(303)
    assert sorted(statuses) == [303] * accepted + [507] * (UPLOADS - accepted)
    assert accepted >= 1
    assert accepted * FILE <= HEADROOM
    assert lowest_free[0] >= 0, "the reserve was eaten into"
    assert allocated(settings.store_dir) <= HEADROOM
    assert list(settings.store_dir.glob("*.part")) == []
    assert len(stored_files(settings.data_dir)) == 2 * accepted
