"""A raw HTTP client for the live intake (tests/support/live.py), on http.client: `Visitor` keeps
its own cookies and opens a fresh connection per request, like Tor Browser; `RawUpload` writes a
POST by hand; `multipart` builds the submit form's body."""

import contextlib
import http.client
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from tests.support.forms import codename_on, csrf_token
from tests.support.live import HOST, LiveIntake

# --- a client ------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


class Visitor:
    """One visitor with their own cookies; each request on a fresh connection, like Tor Browser."""

    def __init__(self, intake: LiveIntake, timeout: float = 60.0) -> None:
        self.intake = intake
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.intake.port, timeout=self.timeout)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": self.intake.host_header}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        headers.update(extra or {})
        return headers

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def remember_cookies(self, headers: Message) -> None:
        for line in headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        follow: bool = False,
    ) -> Response:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=self.headers(headers))
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            conn.close()
        self.remember_cookies(response.headers)
        if follow and response.status in (301, 302, 303, 307) and response.location:
            location = response.location.removeprefix(self.intake.base_url)
            return self.request("GET", location, follow=True)
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str], follow: bool = False) -> Response:
        body = urlencode(fields).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}, follow=follow
        )

    def new_source(self) -> str:
        """Landing page, then "Get a codename": return the codename shown."""
        landing = self.get("/")
        assert landing.status == 200, landing.status
        page = self.post_form("/codename", {"csrf_token": csrf_token(landing.text)})
        assert page.status == 200, page.text
        return codename_on(page.text)

    def log_in(self, codename: str) -> Response:
        landing = self.get("/")
        return self.post_form(
            "/login", {"csrf_token": csrf_token(landing.text), "codename": codename}, follow=True
        )

    def submit_token(self) -> str:
        page = self.get("/submit")
        assert page.status == 200, page.status
        return csrf_token(page.text)


class RawUpload:
    """A POST written by hand, so that a test can pace it, pause it, or cut it off half-way.

    With content_length=None the body goes out with `Transfer-Encoding: chunked`, each send() one
    chunk framed by hand.
    """

    def __init__(
        self,
        visitor: Visitor,
        content_type: str,
        content_length: int | None,
        path: str = "/submit",
    ) -> None:
        self.chunked = content_length is None
        self.conn = visitor.connection()
        self.conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        headers = visitor.headers({"Content-Type": content_type})
        if content_length is None:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(content_length)
        for name, value in headers.items():
            self.conn.putheader(name, value)
        self.conn.endheaders()
        self.visitor = visitor

    def send(self, data: bytes) -> None:
        if not data:
            return
        if self.chunked:
            self.conn.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.conn.send(data)

    def finish(self) -> Response:
        try:
            if self.chunked:
                self.conn.send(b"0\r\n\r\n")
            raw = self.conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            self.conn.close()
        self.visitor.remember_cookies(response.headers)
        return response

    def abort(self) -> None:
        """Cut the connection, like a Tor circuit that dies."""
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


# --- multipart bodies ----------------------------------------------------------------------


def new_boundary() -> str:
    return "----TamgaTestBoundary" + secrets.token_hex(12)


def part_header(
    boundary: str, name: str, filename: str | None = None, content_type: str | None = None
) -> bytes:
    """One part's opening lines, as a browser writes them (UTF-8 file names, raw)."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    lines = [f"--{boundary}", f"Content-Disposition: {disposition}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def multipart(
    token: str,
    message: str = "",
    files: Sequence[tuple[str, str, bytes]] = (),
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """The submit form's body: CSRF token first, then message, then files [(name, type, data)]."""
    boundary = boundary or new_boundary()
    out = bytearray()
    out += part_header(boundary, "csrf_token") + token.encode() + b"\r\n"
    out += part_header(boundary, "message") + message.encode("utf-8") + b"\r\n"
    for name, content_type, data in files:
        out += part_header(boundary, "files", name, content_type) + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)
