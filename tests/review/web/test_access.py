"""Who gets in: the station's Host only, the one browser with the token, CSRF on every form, keys
only while unlocked (Lock and the idle timeout drop them), and the strict headers on every page."""

from flask import Flask

from review.web.guard import CONTENT_SECURITY_POLICY
from tests.review.web.conftest import HOST, PORT, Browser, Station, admitted


def test_a_foreign_host_is_refused_even_with_the_token(app: Flask) -> None:
    client = app.test_client()
    token = app.extensions["station.desk"].token
    for host in ("evil.example:8765", f"127.0.0.1:{PORT + 1}", "localhost", "127.0.0.1", "[::1]:8765"):
        response = client.get(f"/?token={token}", headers={"Host": host})
        assert response.status_code == 403, host
        assert "not the station" in response.get_data(as_text=True)
    assert app.extensions["station.desk"].token == token  # not spent by the refused requests


def test_localhost_is_the_station_too(app: Flask) -> None:
    token = app.extensions["station.desk"].token
    response = app.test_client().get(f"/?token={token}", headers={"Host": f"localhost:{PORT}"})
    assert response.status_code == 303


def test_no_token_no_cookie_is_refused(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/unlock", "/dashboard", "/item/1", "/item/1/media", "/static/station.css"):
        response = client.get(path, headers={"Host": HOST})
        assert response.status_code == 403, path
        assert "token" in response.get_data(as_text=True)


def test_a_wrong_token_is_refused(app: Flask) -> None:
    response = app.test_client().get("/?token=guessed", headers={"Host": HOST})
    assert response.status_code == 403


def test_the_token_works_once_and_becomes_a_strict_cookie(app: Flask) -> None:
    token = app.extensions["station.desk"].token
    first = app.test_client()
    response = first.get(f"/?token={token}", headers={"Host": HOST})
    assert response.status_code == 303 and response.headers["Location"] == "/unlock"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert first.get("/unlock", headers={"Host": HOST}).status_code == 200
    second = app.test_client()
    assert second.get(f"/?token={token}", headers={"Host": HOST}).status_code == 403
    assert second.get("/unlock", headers={"Host": HOST}).status_code == 403


def test_every_page_has_the_strict_headers(reviewer: Browser) -> None:
    for path in ("/", "/unlock", "/dashboard", "/nowhere"):
        headers = reviewer.get(path).headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert (
            "default-src 'none'" in CONTENT_SECURITY_POLICY
            and "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        )
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "Server" not in headers


def test_forms_without_csrf_are_refused(reviewer: Browser, evidence: object) -> None:
    for path, data in (
        ("/unlock", {"passphrase": Station.PASSPHRASE, "actor": "x"}),
        ("/lock", {}),
        ("/item/1/catalogue", {"status": "verified"}),
        ("/reply/1", {"text": "hello"}),
    ):
        response = reviewer.post(path, data, csrf=False)
        assert response.status_code == 400, path
        assert "did not come from this station" in response.get_data(as_text=True)
    assert reviewer.get("/item/1").status_code == 200  # still unlocked: /lock was refused too


def test_a_locked_station_shows_only_the_unlock_page(browser: Browser) -> None:
    response = browser.get("/")
    assert response.status_code == 303 and response.headers["Location"] == "/unlock"
    refused = browser.post("/item/1/catalogue", {"status": "verified"})
    assert refused.status_code == 403
    assert "locked" in refused.get_data(as_text=True)


def test_a_wrong_passphrase_does_not_unlock(browser: Browser) -> None:
    response = browser.post("/unlock", {"passphrase": "wrong passphrase here", "actor": "someone"})
    assert response.status_code == 400
    assert "did not open" in response.get_data(as_text=True)
    assert browser.get("/").status_code == 303


def test_unlocking_needs_a_name(browser: Browser) -> None:
    response = browser.post("/unlock", {"passphrase": Station.PASSPHRASE, "actor": "  "})
    assert response.status_code == 400
    assert "custody log" in response.get_data(as_text=True)


def test_lock_drops_the_keys(app: Flask, reviewer: Browser) -> None:
    desk = app.extensions["station.desk"]
    assert desk.unlocked
    response = reviewer.post("/lock", csrf=True)
    assert response.status_code == 200 and "locked" in response.get_data(as_text=True)
    assert not desk.unlocked and desk.messages == {} and not desk.thumbnails
    assert reviewer.get("/").headers["Location"] == "/unlock"


def test_the_idle_timeout_drops_the_keys(app: Flask) -> None:
    desk = app.extensions["station.desk"]
    now = [1000.0]
    desk._clock = lambda: now[0]
    browser = admitted(app)
    browser.post("/unlock", {"passphrase": Station.PASSPHRASE, "actor": "web-tester"})
    now[0] += 14 * 60
    assert browser.get("/").status_code == 200  # 14 minutes idle: still open, and the clock restarts
    now[0] += 14 * 60
    assert browser.get("/").status_code == 200
    now[0] += 15 * 60 + 1
    assert desk.expire_if_idle() and not desk.unlocked  # what the server's watcher thread calls
    assert browser.get("/").headers["Location"] == "/unlock"


def test_the_language_link_stays_on_the_station(reviewer: Browser) -> None:
    for target in ("//evil.example/", "http://evil.example/", "/\\evil.example"):
        response = reviewer.get(f"/language/ru?next={target}")
        assert response.headers["Location"] == "/", target
    assert reviewer.get("/language/kk?next=/dashboard").headers["Location"] == "/dashboard"
    assert 'lang="kk"' in reviewer.get("/dashboard").get_data(as_text=True)
