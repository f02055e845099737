"""Web hardening for every response: the request class, host check and security headers."""

from flask import Flask, Request, Response, request
from werkzeug.exceptions import BadRequest

from submission.errors import UnknownHost

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})

# script-src and connect-src are for the submit page's one script (submission/page_script.py):
# our own file only, pinned by its integrity hash, talking to our own /uploads; no inline script,
# no eval. worker-src blob: is for its seal workers, started from that same script fetched again
# with the same hash (docs/threat-model.md).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; worker-src blob:; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class NoSpoolRequest(Request):
    """A request that can never spool an uploaded file to disk.

    Werkzeug writes file parts over 500 KiB to a temporary file in plaintext. Only
    submission/receiver.py reads file parts, from the raw stream; any other parse of a file
    part is refused here.
    """

    def _get_file_stream(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        raise BadRequest("file parts are only accepted by the submission form")


def host_name(host: str) -> str:
    """The host without its port ("[::1]:8080" -> "[::1]")."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def install(app: Flask, onion_addresses: tuple[str, ...]) -> None:
    allowed = LOOPBACK_HOSTS | set(onion_addresses)

    @app.before_request
    def refuse_unknown_host() -> None:
        if host_name(request.host.lower()) not in allowed:
            raise UnknownHost()

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        response.headers.pop("Server", None)
        return response
