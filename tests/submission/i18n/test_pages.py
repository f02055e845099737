"""Every source page and error page in Kazakh, Russian and English, through the Flask test client.

A visitor whose browser asks for a language walks the whole journey in it (landing, codename,
submit, thanks, log out, log in with replies, delete a reply) and meets every error page. Each
page must be in that language (`<html lang>`, the catalogue's translation of what it says, and no
English sentence left), carry the plain-link language selector, and declare UTF-8. Then the
selector itself: Accept-Language on the first visit, the choice kept in the server-side session
only, unknown codes ignored, and `next` never leading to another host.
"""

import dataclasses
import datetime
import io
import re
import secrets
from collections.abc import Iterator
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from crypto import X25519Identity, X25519Recipient, seal_bytes
from submission.app import create_app
from submission.codenames import WORDS_PER_CODENAME, word_list
from submission.datadir import create_data_dir
from submission.models import Reply, Source, Submission
from submission.sessions import COOKIE_NAME
from submission.settings import Settings, load_settings
from tests.support.forms import ONION, csrf_token
from tests.support.i18n import LANGUAGES, TRANSLATED, Page, collapse, english_left, t, translations

# --- the English source strings, as the pages use them -------------------------------------

LANDING = [
    "Tamga: send evidence safely",
    "Send evidence of election violations safely",
    "This service lets you send videos, photos, scans of protocols and written statements to a team of "
    "independent election monitors. What you send is locked so that only they can open it. This server "
    "cannot read it and does not record who you are.",
    "Before you start: stay safe",
    "Use Tor Browser, and set its security level to “Safest” (shield icon, then Settings). This site "
    "works fully without JavaScript.",
    "Do not use a work computer or phone, or a device that belongs to your employer, a school or the "
    "state. Do not use a shared computer.",
    "Photos and videos often contain hidden information: the place (GPS), the time and the model of your "
    "phone. This can identify you. If you can, remove it before sending, or tell us in your message that "
    "it is there.",
    "Do not tell anyone that you sent something, and do not post the same material publicly at the same "
    "time.",
    "First time here",
    "You will get a codename: a few random words. It is the only way to come back, read replies and send "
    "more. We cannot recover it for you.",
    "Get a codename and send evidence",
    "I have a codename",
    "Your codename",
    "Log in",
]
WORDS_STAY = (
    "The words of your codename are English words, whatever language you read this page in. Type them "
    "exactly as they are shown here."
)
CODENAME_PAGE = [
    "Your codename",
    "Memorise these words now, in this order. You need them to come back, read replies from the "
    "reviewers and send more.",
    "This page will not show it again, and we cannot recover it for you.",
    "If you must write it down, keep it hidden and away from your devices, and destroy it once you know it "
    "by heart.",
    "Upper or lower case and extra spaces do not matter when you type it.",
    WORDS_STAY,
    "I have memorised it: continue",
    "Log out",
]
SUBMIT_FORM = [
    "Your page",
    "Replies from the reviewers",
    "Send evidence",
    "Message (optional): what happened, where and when, which polling station",
    "Files (optional): you can choose several at once",
    "Send securely",
    "Log out",
]
HINT = (
    "Up to %(count)d files and %(size)s in total per submission. Large videos can take a long time over "
    "Tor: keep this page open until you see the confirmation."
)
THANKS = [
    "Thank you: your submission was received",
    "It was locked as it arrived, so only the reviewers can open it. They work offline and may take some "
    "days to read it.",
    "Come back later with your codename to see whether it has reached the reviewers and to read any "
    "questions they have for you.",
    "Send more",
    "When you are done, log out and close Tor Browser.",
]
LOGGED_OUT = [
    "You are logged out",
    "Close Tor Browser now to clear everything from this visit.",
    "Back to the start page",
]
REPLIES_SINGULAR = (
    "You have %(num)d reply. It is shown only right after you log in with your codename, because it is "
    "locked with a key made from your codename."
)
REPLIES_PLURAL = (
    "You have %(num)d replies. They are shown only right after you log in with your codename, because "
    "they are locked with a key made from your codename."
)
ERROR = ["Sorry", "Back to the start page"]
GENERIC = "Something in your request was not right. Please go back and try again."
FORM_EXPIRED = (
    "This form has expired or was not sent from this site. Please go back, reload the page and send it again."
)
NOTHING_TO_SEND = "There was nothing to send. Write a message or choose at least one file."
INTERRUPTED = "The upload was interrupted before it finished, so nothing was kept. Please try again."
SESSION_ENDED = "Your session has ended. Please log in again with your codename."
UNKNOWN_CODENAME = "That codename is not recognised. Check the words and try again."
FORBIDDEN = "You cannot open this page. If you have a codename, log in first."
NOT_FOUND = "There is no page at this address."
WRONG_METHOD = "This page cannot be used that way. Please go back and use the form."
TOO_LARGE = "This submission is too large. Send fewer or smaller files at a time."
BROKEN = "Something went wrong on our side. Nothing you sent is lost if you saw a confirmation."
BUSY = "The service is busy right now. Please wait a few minutes and try again."
OUT_OF_SPACE = "The service cannot store this right now. Nothing you sent was kept. Please try again later."
DEMO = "DEMO: this is a demonstration server. Do not send real evidence here."

REPLY_TEXT = {
    "kk": "Рақмет. Бұл қай учаскеде болды?",
    "ru": "Спасибо. На каком это было участке?",
    "en": "Thank you. Which polling station was this?",
}
BOUNDARY = "----tamgaI18nBoundary" + secrets.token_hex(8)


def nt(lang: str, num: int) -> str:
    return collapse(translations(lang).ngettext(REPLIES_SINGULAR, REPLIES_PLURAL, num) % {"num": num})


# --- the journey, once per language --------------------------------------------------------


@dataclasses.dataclass
class Visit:
    lang: str
    pages: dict[str, TestResponse]
    codename: str
    days: list[datetime.date]
    reply_days: list[datetime.date]
    settings: Settings


def multipart(parts: list[tuple[str, bytes, str | None]]) -> bytes:
    body = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        kind = "Content-Type: video/mp4\r\n" if filename else ""
        body += (
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode() + content + b"\r\n"
        )
    return body + f"--{BOUNDARY}--\r\n".encode()


def give_replies(app: Flask, texts: list[str | None]) -> None:
    """Replies as the station would leave them (None: one sealed to someone else, unreadable),
    and the first submission marked as collected by the reviewers."""
    store = app.extensions["tamga.intake"].store
    with app.extensions["tamga.db"]() as db:
        source = db.scalars(select(Source)).one()
        for number, text in enumerate(texts, 1):
            if text is None:
                recipient = X25519Identity.generate().recipient
            else:
                recipient = X25519Recipient.parse(source.reply_recipient)
            pending = store.new()
            pending.file.write(seal_bytes((text or "?").encode(), [recipient]))
            pending.commit()
            db.add(
                Reply(source_id=source.id, station="test", station_reply=number, storage_name=pending.name)
            )
        first = db.scalars(select(Submission).order_by(Submission.id)).first()
        assert first is not None
        first.acknowledged = True
        db.commit()


def with_cookie(app: Flask, client: FlaskClient, lang: str) -> FlaskClient:
    """A client of another app on the same data directory, carrying the same session."""
    other = app.test_client()
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    other.set_cookie(COOKIE_NAME, cookie.value)
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    return other


def browser(app: Flask, lang: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    return client


def make_app(settings: Settings, **limits: int) -> Flask:
    app = create_app(dataclasses.replace(settings, limits=dataclasses.replace(settings.limits, **limits)))
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module", params=LANGUAGES)
def visit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visit]:
    lang = str(request.param)
    data_dir = tmp_path_factory.mktemp(f"i18n-{lang}") / "data"
    create_data_dir(data_dir, [X25519Identity.generate().recipient], onion_addresses=[ONION])
    settings = load_settings(data_dir)
    app = make_app(settings)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("an unexpected failure")

    @app.get("/forbidden")
    def forbidden() -> str:
        abort(403)

    full = make_app(settings, disk_reserve_bytes=1 << 62)
    busy = make_app(settings, max_concurrent_uploads=0, max_concurrent_derivations=0)
    demo = create_app(dataclasses.replace(settings, demo=True))
    client, stranger = browser(app, lang), browser(app, lang)
    pages: dict[str, TestResponse] = {}

    def html(name: str) -> str:
        return pages[name].get_data(as_text=True)

    # First visit: codename, two submissions (a message and two files, then a message).
    pages["GET /"] = client.get("/")
    pages["POST /codename"] = client.post("/codename", data={"csrf_token": csrf_token(html("GET /"))})
    codename = str(Page(html("POST /codename")).codename).strip()
    pages["GET /submit"] = client.get("/submit")
    token = csrf_token(html("GET /submit"))
    pages["400 nothing to send"] = client.post(
        "/submit", data={"csrf_token": token, "message": "  "}, content_type="multipart/form-data"
    )
    body = multipart([("csrf_token", token.encode(), None), ("files", b"v" * 4096, "video.mp4")])
    pages["400 interrupted"] = client.post(
        "/submit",
        input_stream=io.BytesIO(body[: len(body) // 2]),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        environ_overrides={"CONTENT_LENGTH": str(len(body))},
    )
    files = [
        (io.BytesIO(b"\xff\xd8 photo"), "photo.jpg", "image/jpeg"),
        (io.BytesIO(b"video"), "v.mp4", "video/mp4"),
    ]
    pages["POST /submit"] = client.post(
        "/submit",
        data={"csrf_token": token, "message": REPLY_TEXT[lang], "files": files},
        content_type="multipart/form-data",
    )
    pages["GET /thanks"] = client.get("/thanks")
    client.post("/submit", data={"csrf_token": token, "message": "2"}, content_type="multipart/form-data")
    pages["507"] = with_cookie(full, client, lang).post(
        "/submit", data={"csrf_token": token, "message": "x"}, content_type="multipart/form-data"
    )
    pages["503"] = with_cookie(busy, client, lang).post("/codename", data={"csrf_token": token})
    pages["POST /logout"] = client.post("/logout", data={"csrf_token": token})
    pages["GET /logged-out"] = client.get("/logged-out")
    pages["403 session ended"] = client.get("/submit")

    # The station answers; second visit: log in, read, delete one reply.
    give_replies(app, [REPLY_TEXT[lang], None])
    pages["GET / again"] = client.get("/")
    pages["POST /login"] = client.post(
        "/login", data={"csrf_token": csrf_token(html("GET / again")), "codename": codename}
    )
    token = csrf_token(html("POST /login"))
    pages["GET /submit with replies waiting"] = client.get("/submit")
    reply_ids = re.findall(r'action="/replies/([^/"]+)/delete"', html("POST /login"))
    pages["POST /replies/<id>/delete"] = client.post(
        f"/replies/{reply_ids[0]}/delete", data={"csrf_token": token}
    )
    pages["GET /submit?deleted=1"] = client.get("/submit?deleted=1")
    pages["413"] = client.post("/login", data={"csrf_token": token, "codename": "w" * 500})

    # Every other refusal.
    pages["404"] = client.get("/nowhere")
    pages["405"] = client.get("/codename")
    pages["400 form expired"] = client.post("/codename")
    pages["400 unknown host"] = client.get("/", headers={"Host": "evil.example"})
    pages["403"] = client.get("/forbidden")
    pages["500"] = client.get("/boom")
    pages["403 unknown codename"] = stranger.post(
        "/login",
        data={"csrf_token": csrf_token(stranger.get("/").get_data(as_text=True)), "codename": "x y z"},
    )
    pages["GET / demo"] = browser(demo, lang).get("/")

    with app.extensions["tamga.db"]() as db:
        days = sorted(db.scalars(select(Submission.day)))
        reply_days = sorted(db.scalars(select(Reply.day)))
    yield Visit(lang, pages, codename, days, reply_days, settings)
    for each in (app, full, busy, demo):
        each.extensions["tamga.engine"].dispose()


def expected_texts(visit: Visit) -> dict[str, list[str]]:
    """What each page must say, in the visit's language."""
    lang, limits = visit.lang, visit.settings.limits
    size = {"en": "4.3 GB", "ru": "4,3 ГБ", "kk": "4,3 ГБ"}[lang]  # 4 GiB, in decimal units
    hint = t(lang, HINT, count=limits.max_files, size=size)
    day = visit.days[0].isoformat()

    def each(msgids: list[str]) -> list[str]:
        return [t(lang, msgid) for msgid in msgids]

    def error(message: str) -> list[str]:
        return [*each(ERROR), t(lang, "Error"), t(lang, message)]

    submitted = [
        t(lang, "What you have sent before"),
        t(lang, "A submission on %(day)s", day=day),
        t(lang, "reached the reviewers"),
        t(lang, "waiting to be collected by the reviewers"),
    ]
    return {
        "GET /": each(LANDING),
        "POST /codename": each(CODENAME_PAGE),
        "GET /submit": [*each(SUBMIT_FORM), t(lang, "There are no replies yet."), hint],
        "GET /thanks": each(THANKS),
        "GET /logged-out": each(LOGGED_OUT),
        "GET / again": each(LANDING),
        "POST /login": [
            *each(SUBMIT_FORM),
            *submitted,
            hint,
            t(lang, "Received on %(day)s", day=visit.reply_days[0].isoformat()),
            t(lang, "Delete this reply"),
            t(lang, "This reply could not be opened."),
            REPLY_TEXT[lang],
        ],
        "GET /submit with replies waiting": [*each(SUBMIT_FORM), *submitted, nt(lang, 2)],
        "GET /submit?deleted=1": [*each(SUBMIT_FORM), nt(lang, 1), t(lang, "The reply was deleted.")],
        "GET / demo": [t(lang, DEMO), *each(LANDING)],
        "400 nothing to send": error(NOTHING_TO_SEND),
        "400 interrupted": error(INTERRUPTED),
        "400 form expired": error(FORM_EXPIRED),
        "400 unknown host": error(GENERIC),
        "403": error(FORBIDDEN),
        "403 session ended": error(SESSION_ENDED),
        "403 unknown codename": error(UNKNOWN_CODENAME),
        "404": error(NOT_FOUND),
        "405": error(WRONG_METHOD),
        "413": error(TOO_LARGE),
        "500": error(BROKEN),
        "503": error(BUSY),
        "507": error(OUT_OF_SPACE),
    }


STATUS = {
    "GET /": 200,
    "POST /codename": 200,
    "GET /submit": 200,
    "POST /submit": 303,
    "GET /thanks": 200,
    "POST /logout": 303,
    "GET /logged-out": 200,
    "GET / again": 200,
    "POST /login": 200,
    "GET /submit with replies waiting": 200,
    "POST /replies/<id>/delete": 303,
    "GET /submit?deleted=1": 200,
    "GET / demo": 200,
    "400 nothing to send": 400,
    "400 interrupted": 400,
    "400 form expired": 400,
    "400 unknown host": 400,
    "403": 403,
    "403 session ended": 403,
    "403 unknown codename": 403,
    "404": 404,
    "405": 405,
    "413": 413,
    "500": 500,
    "503": 503,
    "507": 507,
}
PAGES = [name for name, status in STATUS.items() if status != 303]


@pytest.mark.parametrize("name", STATUS)
def test_status(visit: Visit, name: str) -> None:
    assert visit.pages[name].status_code == STATUS[name], visit.pages[name].get_data(as_text=True)[:2000]


def test_every_page_is_checked(visit: Visit) -> None:
    assert set(expected_texts(visit)) == set(PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_in_the_visitors_language(visit: Visit, name: str) -> None:
    response = visit.pages[name]
    page = Page(response.get_data(as_text=True))
    assert page.lang == visit.lang
    missing = [text for text in expected_texts(visit)[name] if text not in page.text]
    assert missing == [], page.text


@pytest.mark.parametrize("name", PAGES)
def test_no_english_sentence_is_left(visit: Visit, name: str) -> None:
    page = Page(visit.pages[name].get_data(as_text=True))
    left = english_left(page.text)
    if visit.lang == "en":
        assert left, "the detector finds nothing on the English page: it is broken"
    else:
        assert left == [], page.text


@pytest.mark.parametrize("name", PAGES)
def test_the_page_declares_utf8(visit: Visit, name: str) -> None:
    response = visit.pages[name]
    assert response.mimetype == "text/html"
    assert response.mimetype_params.get("charset", "").lower() == "utf-8"
    page = Page(response.get_data(as_text=True))
    assert [c.lower() for c in page.charsets] == ["utf-8"]
    assert response.get_data(as_text=True).startswith("<!doctype html>")


@pytest.mark.parametrize("name", PAGES)
def test_every_page_has_the_plain_language_selector(visit: Visit, name: str) -> None:
    page = Page(visit.pages[name].get_data(as_text=True))
    assert page.scripts <= 1  # the submit page's own script (tests/submission/test_page_script.py)
    assert [link.get("hreflang") for link in page.links] == ["kk", "ru", "en"]
    assert [link.get("lang") for link in page.links] == ["kk", "ru", "en"]
    current = [link.get("hreflang") for link in page.links if link.get("aria-current") == "true"]
    assert current == [visit.lang]
    for link in page.links:
        href = urlsplit(str(link["href"]))
        assert (href.scheme, href.netloc) == ("", "")
        assert href.path == f"/language/{link['hreflang']}"
        (target,) = parse_qs(href.query)["next"]
        assert target.startswith("/") and not target.startswith("//")


def test_the_codename_is_shown_as_english_words(visit: Visit) -> None:
    page = Page(visit.pages["POST /codename"].get_data(as_text=True))
    words = str(page.codename).split()
    assert len(words) == WORDS_PER_CODENAME
    assert all(word.isascii() and word in word_list() for word in words)
    assert t(visit.lang, WORDS_STAY) in page.text


# --- choosing the language -----------------------------------------------------------------


def lang_of(response: TestResponse) -> str | None:
    return Page(response.get_data(as_text=True)).lang


def cookie_names(response: TestResponse) -> list[str]:
    names = []
    for header in response.headers.getlist("Set-Cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        names.extend(jar)
    return names


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("kk", "kk"),
        ("ru", "ru"),
        ("en", "en"),
        ("kk-KZ,kk;q=0.9,ru;q=0.8", "kk"),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("ru-KZ", "ru"),
        ("de-DE,de;q=0.9", "en"),
        ("en-US,en;q=0.5", "en"),  # what Tor Browser sends by default
        (None, "en"),
    ],
)
def test_the_first_visit_follows_accept_language(
    client: FlaskClient, accept: str | None, expected: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert lang_of(response) == expected


def test_switching_language_is_kept_in_the_session_and_sets_no_cookie_of_its_own(client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    landing = client.get("/")
    assert lang_of(landing) == "kk"
    before = client.get_cookie(COOKIE_NAME)
    assert before is not None
    russian = next(link for link in Page(landing.get_data(as_text=True)).links if link["hreflang"] == "ru")
    switched = client.get(str(russian["href"]))
    assert switched.status_code == 303
    assert switched.headers["Location"] == "/"
    assert set(cookie_names(switched)) <= {COOKIE_NAME}
    after = client.get_cookie(COOKIE_NAME)
    assert after is not None and after.value == before.value, "the choice lives in the session, not a cookie"
    # The browser still asks for Kazakh; the choice wins, on every page.
    assert lang_of(client.get("/")) == "ru"
    assert lang_of(client.get("/nowhere")) == "ru"
    assert lang_of(client.get("/submit")) == "ru"
    assert lang_of(client.get("/language/en?next=/logged-out", follow_redirects=True)) == "en"


def test_a_new_visitor_choosing_a_language_gets_only_the_session_cookie(client: FlaskClient) -> None:
    response = client.get("/language/ru?next=/")
    assert response.status_code == 303
    assert cookie_names(response) == [COOKIE_NAME]
    assert lang_of(client.get("/", headers={"Accept-Language": "en"})) == "ru"


@pytest.mark.parametrize("code", ["xx", "de", "KK", "ru-RU", "kk%00", "..", "en-US"])
def test_an_unknown_code_keeps_the_current_language(client: FlaskClient, code: str) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    assert lang_of(client.get("/")) == "kk"
    response = client.get(f"/language/{code}?next=/logged-out")
    assert response.status_code in (303, 404)
    if response.status_code == 303:
        assert response.headers["Location"] == "/logged-out"
    assert lang_of(client.get("/")) == "kk"
    client.get("/language/ru?next=/")
    client.get(f"/language/{code}?next=/")
    assert lang_of(client.get("/")) == "ru"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/",
        "///evil.com",
        "http://evil.com",
        "https://evil.com/path",
        "HTTP://evil.com",
        "/\\evil",
        "/\\/evil.com",
        "\\\\evil.com",
        "evil.com",
        "javascript:alert(1)",
        "",
    ],
)
def test_next_never_leads_to_another_host(client: FlaskClient, target: str) -> None:
    response = client.get("/language/ru", query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/", "/submit", "/logged-out", "/submit?deleted=1"])
def test_next_keeps_a_local_path(client: FlaskClient, target: str) -> None:
    response = client.get("/language/kk", query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == target


def browser_url(location: str) -> str:
    """What a browser makes of a Location: the URL standard drops tabs and newlines everywhere."""
    return re.sub(r"[\t\n\r]", "", location)


def test_next_with_a_tab_does_not_lead_to_another_host(client: FlaskClient) -> None:
    response = client.get("/language/ru", query_string={"next": "/\t/evil.com"})
    assert response.status_code == 303
    location = browser_url(response.headers["Location"])
    assert not location.startswith("//")
    assert urlsplit(location).netloc == ""


def test_next_with_a_newline_redirects_to_the_start_page(client: FlaskClient) -> None:
    response = client.get("/language/ru", query_string={"next": "/\r\n/evil.com"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_selector_on_a_page_that_answered_a_post_leads_to_a_page_that_opens(
    client: FlaskClient, lang: str
) -> None:
    """The codename page answered a POST: its links go to the submit page, not to GET /codename."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client.get("/").get_data(as_text=True))
    page = Page(client.post("/codename", data={"csrf_token": token}).get_data(as_text=True))
    (link,) = [link for link in page.links if link["hreflang"] == lang]
    response = client.get(str(link["href"]))
    assert response.headers["Location"] == "/submit"
    landed = client.get("/submit")
    assert landed.status_code == 200
    assert lang_of(landed) == lang


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_codename_from_a_page_in_one_language_logs_in_from_another(app: Flask, lang: str) -> None:
    """The words are the same whatever the language: a codename read in kk or ru works from en."""
    first = browser(app, lang)
    token = csrf_token(first.get("/").get_data(as_text=True))
    codename = str(Page(first.post("/codename", data={"csrf_token": token}).get_data(as_text=True)).codename)
    token = csrf_token(first.get("/submit").get_data(as_text=True))
    sent = first.post(
        "/submit", data={"csrf_token": token, "message": "1"}, content_type="multipart/form-data"
    )
    assert sent.status_code == 303
    other = browser(app, "en")
    token = csrf_token(other.get("/").get_data(as_text=True))
    response = other.post("/login", data={"csrf_token": token, "codename": codename.strip()})
    assert response.status_code == 200
    assert lang_of(response) == "en"


def choose_then(client: FlaskClient, lang: str) -> None:
    """A Tor Browser visitor: the browser asks for English, the source clicks their language."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.5"
    assert client.get(f"/language/{lang}?next=/").status_code == 303
    assert lang_of(client.get("/")) == lang


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_chosen_language_survives_getting_a_codename(client: FlaskClient, lang: str) -> None:
    choose_then(client, lang)
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert lang_of(client.post("/codename", data={"csrf_token": token})) == lang
    assert lang_of(client.get("/submit")) == lang


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_chosen_language_survives_logging_in(app: Flask, lang: str) -> None:
    first = browser(app, lang)
    token = csrf_token(first.get("/").get_data(as_text=True))
    codename = str(Page(first.post("/codename", data={"csrf_token": token}).get_data(as_text=True)).codename)
    token = csrf_token(first.get("/submit").get_data(as_text=True))
    first.post("/submit", data={"csrf_token": token, "message": "1"}, content_type="multipart/form-data")
    client = app.test_client()
    choose_then(client, lang)
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "codename": codename.strip()})
    assert response.status_code == 200
    assert lang_of(response) == lang


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_chosen_language_survives_logging_out(client: FlaskClient, lang: str) -> None:
    choose_then(client, lang)
    token = csrf_token(client.get("/").get_data(as_text=True))
    client.post("/codename", data={"csrf_token": token})
    client.get(f"/language/{lang}?next=/submit")  # chosen again after the codename (see above)
    token = csrf_token(client.get("/submit").get_data(as_text=True))
    assert lang_of(client.post("/logout", data={"csrf_token": token}, follow_redirects=True)) == lang


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_size_limit_is_written_in_the_pages_language(client: FlaskClient, lang: str) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    token = csrf_token(client.get("/").get_data(as_text=True))
    client.post("/codename", data={"csrf_token": token})
    text = Page(client.get("/submit").get_data(as_text=True)).text
    assert "GiB" not in text
    assert "ГБ" in text or "гигабайт" in text
