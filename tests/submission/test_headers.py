"""Security headers on every response (error pages included), the cookie, robots.txt, forms and links."""

import dataclasses
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from crypto import X25519Identity
from submission.app import create_app
from submission.datadir import create_data_dir
from submission.models import Source, WebSession
from submission.sessions import COOKIE_NAME
from submission.settings import Settings, load_settings
from tests.support.forms import ONION, csrf_token

Responses = dict[str, TestResponse]


def _limited(settings: Settings, **limits: int) -> Flask:
    app = create_app(dataclasses.replace(settings, limits=dataclasses.replace(settings.limits, **limits)))
    app.config["TESTING"] = True
    return app


def _with_cookie(app: Flask, cookie: str) -> FlaskClient:
    """A client of another app on the same data directory, carrying the same session."""
    client = app.test_client()
    client.set_cookie(COOKIE_NAME, cookie)
    return client


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Responses, Flask, Path, str]]:
    """Every route and every error page once, in the order a source meets them."""
    data_dir = tmp_path_factory.mktemp("headers") / "data"
    create_data_dir(data_dir, [X25519Identity.generate().recipient], onion_addresses=[ONION])
    settings = load_settings(data_dir)
    app = create_app(settings)
    app.config["TESTING"] = True

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError(request.path)

    full = _limited(settings, disk_reserve_bytes=1 << 62)
    busy = _limited(settings, max_concurrent_uploads=0, max_concurrent_derivations=0)
    client = app.test_client()
    seen: Responses = {}
    seen["GET /"] = client.get("/")
    token = csrf_token(seen["GET /"].get_data(as_text=True))
    seen["POST /codename"] = client.post("/codename", data={"csrf_token": token})
    codename = re.search(r'id="codename"[^>]*>([^<]+)<', seen["POST /codename"].get_data(as_text=True))
    assert codename
    seen["GET /submit"] = client.get("/submit")
    token = csrf_token(seen["GET /submit"].get_data(as_text=True))
    seen["POST /submit"] = client.post(
        "/submit", data={"csrf_token": token, "message": "hello"}, content_type="multipart/form-data"
    )
    seen["GET /thanks"] = client.get("/thanks")
    seen["GET / logged in"] = client.get("/")
    token = csrf_token(seen["GET / logged in"].get_data(as_text=True))
    seen["POST /login"] = client.post("/login", data={"csrf_token": token, "codename": codename.group(1)})
    token = csrf_token(seen["POST /login"].get_data(as_text=True))
    seen["POST /replies/<id>/delete"] = client.post(
        "/replies/0123456789abcdef/delete", data={"csrf_token": token}
    )
    stranger = app.test_client()
    stranger_token = csrf_token(stranger.get("/").get_data(as_text=True))
    seen["403 wrong codename"] = stranger.post(
        "/login", data={"csrf_token": stranger_token, "codename": "x y z"}
    )
    seen["GET /submit again"] = client.get("/submit")
    seen["GET /robots.txt"] = client.get("/robots.txt")
    seen["GET /static/intake.css"] = client.get("/static/intake.css", buffered=True)
    seen["404"] = client.get("/nowhere")
    seen["400 csrf"] = client.post("/codename")
    seen["400 host"] = client.get("/", headers={"Host": "evil.example"})
    seen["400 multipart"] = client.post(
        "/submit", data=b"junk", content_type="multipart/form-data; boundary=x"
    )
    seen["405"] = client.get("/codename")
    seen["413"] = client.post("/login", data={"csrf_token": token, "codename": "w" * 500})
    seen["500"] = client.get("/boom")
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    body = {"csrf_token": token, "message": "hello"}
    seen["507"] = _with_cookie(full, cookie.value).post(
        "/submit", data=body, content_type="multipart/form-data"
    )
    seen["503 upload"] = _with_cookie(busy, cookie.value).post(
        "/submit", data=body, content_type="multipart/form-data"
    )
    seen["503 derivation"] = _with_cookie(busy, cookie.value).post("/codename", data={"csrf_token": token})
    seen["POST /logout"] = client.post("/logout", data={"csrf_token": token})
    seen["GET /logged-out"] = client.get("/logged-out")
    seen["403"] = client.get("/submit")
    yield seen, app, data_dir, codename.group(1)
    for each in (app, full, busy):
        each.extensions["tamga.engine"].dispose()


EXPECTED_STATUS = {
    "GET /": 200,
    "POST /codename": 200,
    "GET /submit": 200,
    "POST /submit": 303,
    "GET /thanks": 200,
    "GET / logged in": 200,
    "POST /login": 200,
    "POST /replies/<id>/delete": 303,
    "403 wrong codename": 403,
    "GET /submit again": 200,
    "GET /robots.txt": 200,
    "GET /static/intake.css": 200,
    "404": 404,
    "400 csrf": 400,
    "400 host": 400,
    "400 multipart": 400,
    "405": 405,
    "413": 413,
    "500": 500,
    "507": 507,
    "503 upload": 503,
    "503 derivation": 503,
    "POST /logout": 303,
    "GET /logged-out": 200,
    "403": 403,
}


@pytest.mark.parametrize("name", EXPECTED_STATUS)
def test_every_response_carries_the_security_headers(
    journey: tuple[Responses, Flask, Path, str], name: str
) -> None:
    response = journey[0][name]
    headers = response.headers
    assert response.status_code == EXPECTED_STATUS[name]
    csp = headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]  # the submit page's own script, nothing else
    assert directives["connect-src"] == ["'self'"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "*" not in csp
    assert "no-store" in headers["Cache-Control"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert not re.search(r"\d", headers.get("Server", ""))
    assert "X-Powered-By" not in headers


@pytest.mark.parametrize("name", [n for n, status in EXPECTED_STATUS.items() if status >= 400])
def test_every_error_is_a_full_page_without_a_traceback(
    journey: tuple[Responses, Flask, Path, str], name: str
) -> None:
    response = journey[0][name]
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert page.startswith("<!doctype html>")
    assert f'data-status="{response.status_code}"' in page
    assert "Traceback" not in page
    assert "RuntimeError" not in page
    assert "/boom" not in page


def test_the_session_cookie_is_strict_http_only_and_only_a_random_token(
    journey: tuple[Responses, Flask, Path, str],
) -> None:
    responses, app, data_dir, codename = journey
    values = set()
    for name, response in responses.items():
        for header in response.headers.getlist("Set-Cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            assert list(parsed) == [COOKIE_NAME], name
            morsel = parsed[COOKIE_NAME]
            assert morsel["httponly"] is True, name
            assert morsel["samesite"] == "Strict", name
            assert morsel["path"] == "/", name
            assert morsel["domain"] == "", name
            if morsel.value and name != "403 wrong codename":  # that one is another visitor's
                values.add(morsel.value)
    # A new token whenever the session starts to stand for a source (codename, login): no fixation.
    assert 2 <= len(values) <= 3, "anonymous visit, then a fresh token per identification"
    with app.extensions["tamga.db"]() as db:
        source = db.scalars(select(Source)).one()
        for token in values:
            assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
            stored = db.get(WebSession, hashlib.sha256(token.encode()).hexdigest())
            assert stored is None, "replaced at identification or deleted at logout"
    for token in values:
        assert source.id not in token
        assert source.reply_recipient not in token
        for word in codename.split():
            assert word not in token.lower()
        for path in data_dir.rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), f"raw session token kept in {path.name}"
    assert responses["POST /logout"].headers["Set-Cookie"].startswith(f"{COOKIE_NAME}=;")


def test_the_session_cookie_holds_no_source_data(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/codename", data={"csrf_token": token})
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    assert response.headers.getlist("Set-Cookie") == [
        f"{COOKIE_NAME}={cookie.value}; HttpOnly; Path=/; SameSite=Strict"
    ]
    assert cookie.http_only
    assert cookie.same_site == "Strict"
    assert cookie.expires is None, "dies with the browser"
    assert "." not in cookie.value, "not a signed client-side session"


def test_the_session_token_is_renewed_when_a_source_is_identified(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    before = client.get_cookie(COOKIE_NAME)
    assert before is not None
    client.post("/codename", data={"csrf_token": token})
    after = client.get_cookie(COOKIE_NAME)
    assert after is not None
    assert after.value != before.value


def test_robots_txt_disallows_everything(journey: tuple[Responses, Flask, Path, str]) -> None:
    response = journey[0]["GET /robots.txt"]
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "User-agent: *\nDisallow: /\n"


class _Page(HTMLParser):
    """Collects link targets and, per post form, the first field in it."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.post_forms: list[dict[str, str | None] | None] = []
        self.in_post_form = False
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href", "action", "formaction", "srcset", "poster", "data"):
            if attributes.get(name) is not None:
                self.targets.append(str(attributes[name]))
        if tag == "script":
            self.scripts += 1
        if tag == "form":
            self.in_post_form = (attributes.get("method") or "").lower() == "post"
            if self.in_post_form:
                self.post_forms.append(None)
        elif (
            tag in ("input", "select", "textarea", "button")
            and self.in_post_form
            and self.post_forms[-1] is None
        ):
            self.post_forms[-1] = {"tag": tag, **attributes}

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_post_form = False


def _pages(responses: Responses) -> Iterator[tuple[str, _Page]]:
    for name, response in responses.items():
        if response.mimetype == "text/html" and response.status_code != 303:
            page = _Page()
            page.feed(response.get_data(as_text=True))
            yield name, page


def test_no_page_references_another_host_or_runs_script(journey: tuple[Responses, Flask, Path, str]) -> None:
    checked = 0
    for name, page in _pages(journey[0]):
        assert page.scripts <= 1, name  # the submit page's own script (tests/submission/test_page_script.py)
        for target in page.targets:
            assert "http://" not in target, (name, target)
            assert "https://" not in target, (name, target)
            assert "//" not in target, (name, target)
            checked += 1
    assert checked > 20
    css = journey[0]["GET /static/intake.css"].get_data(as_text=True)
    assert "url(" not in css
    assert "@import" not in css
    assert "//" not in css.replace("/*", "").replace("*/", "")


def test_every_post_form_starts_with_its_csrf_token(journey: tuple[Responses, Flask, Path, str]) -> None:
    forms = 0
    for name, page in _pages(journey[0]):
        for first in page.post_forms:
            forms += 1
            assert first is not None, name
            assert first["tag"] == "input", name
            assert first.get("type") == "hidden", name
            assert first.get("name") == "csrf_token", name
            assert first.get("value"), name
    assert forms >= 15
