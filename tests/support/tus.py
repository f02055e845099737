"""A small tus 1.0 client for the intake's /uploads (submission/tus.py), as the page's script uses
it: over Flask's test client (`flask_send`) or a real server (`visitor_send`). It also seals a
submission the way the page does: the message, each file's metadata and content, three kinds."""

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from flask.testing import FlaskClient

from crypto import Recipient, seal_bytes
from tests.support.visitor import Visitor

PIECE = 1024 * 1024
FileSpec = tuple[bytes, str, str]  # content, file name, declared type


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


Send = Callable[[str, str, bytes | None, dict[str, str]], Reply]


def flask_send(client: FlaskClient) -> Send:
    def send(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        response = client.open(path, method=method, data=body, headers=headers)
        return Reply(response.status_code, dict(response.headers), response.get_data())

    return send


def visitor_send(visitor: Visitor) -> Send:
    def send(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        response = visitor.request(method, path, body, headers)
        return Reply(response.status, dict(response.headers.items()), response.body)

    return send


def metadata(kind: str, item: int) -> str:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return f"kind {b64(kind)},item {b64(str(item))}"


def sealed_submission(
    recipients: Sequence[Recipient], message: str = "", files: Sequence[FileSpec] = ()
) -> list[tuple[str, int, bytes]]:
    """(kind, item, envelope) for each envelope the page uploads, in the no-JS path's shapes."""
    envelopes = []
    if message:
        envelopes.append(("message", 0, seal_bytes(message.encode(), recipients)))
    for item, (content, name, declared) in enumerate(files, start=1):
        meta = json.dumps({"name": name, "type": declared}).encode()
        envelopes.append(("file-metadata", item, seal_bytes(meta, recipients)))
        envelopes.append(("file-content", item, seal_bytes(content, recipients)))
    return envelopes


class TusClient:
    """One session's uploads: every request carries Tus-Resumable and the session's CSRF token."""

    def __init__(self, send: Send, token: str) -> None:
        self.send = send
        self.token = token

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {"Tus-Resumable": "1.0.0", "X-CSRFToken": self.token, **(extra or {})}

    def options(self) -> Reply:
        return self.send("OPTIONS", "/uploads", None, {})

    def create(self, kind: str, item: int, length: int, extra: Mapping[str, str] | None = None) -> Reply:
        headers = {"Upload-Length": str(length), "Upload-Metadata": metadata(kind, item), **(extra or {})}
        return self.send("POST", "/uploads", b"", self.headers(headers))

    def create_ok(self, kind: str, item: int, length: int) -> str:
        reply = self.create(kind, item, length)
        assert reply.status == 201, (reply.status, reply.body[:300])
        return reply.headers["Location"]

    def head(self, location: str) -> Reply:
        return self.send("HEAD", location, None, self.headers())

    def offset(self, location: str) -> int:
        reply = self.head(location)
        assert reply.status == 200, reply.status
        return int(reply.headers["Upload-Offset"])

    def patch(self, location: str, offset: int, data: bytes, extra: Mapping[str, str] | None = None) -> Reply:
        headers = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)}
        return self.send("PATCH", location, data, self.headers({**headers, **(extra or {})}))

    def delete(self, location: str) -> Reply:
        return self.send("DELETE", location, None, self.headers())

    def upload(self, kind: str, item: int, envelope: bytes, piece: int = PIECE) -> str:
        """Create and send an envelope in pieces, each from the server's offset; return its location."""
        location = self.create_ok(kind, item, len(envelope))
        offset = 0
        while offset < len(envelope):
            reply = self.patch(location, offset, envelope[offset : offset + piece])
            assert reply.status == 204, (reply.status, reply.body[:300])
            offset = int(reply.headers["Upload-Offset"])
        return location

    def upload_all(self, envelopes: Sequence[tuple[str, int, bytes]], piece: int = PIECE) -> list[str]:
        return [upload_id(self.upload(kind, item, data, piece)) for kind, item, data in envelopes]

    def commit(self, upload_ids: Sequence[str]) -> Reply:
        fields = [("csrf_token", self.token), *(("upload", upload) for upload in upload_ids)]
        body = urlencode(fields).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.send("POST", "/submit/sealed", body, form)


def upload_id(location: str) -> str:
    return location.rsplit("/", 1)[1]
