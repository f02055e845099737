"""Who may talk to the station's server: the right Host, the one browser, an unlocked desk.

Checked before every view, in this order: the Host header (DNS rebinding: a web page's script
reaching 127.0.0.1 under a name of its own), then the browser (the one-time token exchanged for a
cookie), then, for every page but unlocking, the keys. Every response carries the strict headers.
"""

from flask import Flask, Response, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import Forbidden

from review.web.desk import Desk, Locked

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
OPEN_WHEN_LOCKED = frozenset(
    {"access.unlock", "access.unlock_form", "access.lock", "language.choose", "static"}
)


class ForeignHost(Forbidden):
    description = "foreign host"


class NotAdmitted(Forbidden):
    description = "not admitted"


def desk() -> Desk:
    found: Desk = current_app.extensions["station.desk"]
    return found


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def install(app: Flask) -> None:
    @app.before_request
    def check_request() -> ResponseReturnValue | None:
        if request.host.lower() not in app.config["STATION_HOSTS"]:
            raise ForeignHost()
        token = request.args.get("token")
        if token is not None and request.method == "GET":
            browser = desk().exchange(token)
            if browser is None:
                raise NotAdmitted()
            session.clear()
            session["browser"] = browser
            return redirect(url_for("access.unlock_form"), code=303)  # the token leaves the address bar
        if not desk().admits(session.get("browser")):
            raise NotAdmitted()
        if desk().expire_if_idle() and request.endpoint not in OPEN_WHEN_LOCKED:
            if request.method == "GET":
                return redirect(url_for("access.unlock_form"), code=303)
            raise Locked()
        if desk().unlocked:
            desk().touch()
        return None

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.pop("Server", None)
        return response
