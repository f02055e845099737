"""The source's language: Kazakh, Russian or English, chosen without JavaScript.

First from Accept-Language, then from the plain links on every page, kept in the server-side
session only (no cookie of its own).
"""

import re
from urllib.parse import urlencode

from babel.units import format_unit
from flask import Blueprint, Flask, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale

LANGUAGES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
DEFAULT = "en"

bp = Blueprint("language", __name__)


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT)


_LOCAL_PATH = re.compile(r"/(?!/)[A-Za-z0-9/_.~=&?%-]*")


def _safe_next(target: str | None) -> str:
    """Only a plain local path of this site: never another host, whitespace or control characters
    (browsers drop tabs and newlines, so "/\t/evil.com" would become "//evil.com")."""
    if not target or not _LOCAL_PATH.fullmatch(target):
        return url_for("source.index")
    return target


def file_size(size: int) -> str:
    """A size in the reader's language (decimal units, as phones show them)."""
    locale = str(get_locale())
    if size >= 10**9:
        return format_unit(round(size / 10**9, 1), "digital-gigabyte", length="short", locale=locale)
    return format_unit(round(size / 10**6), "digital-megabyte", length="short", locale=locale)


@bp.get("/language/<code>")
def choose(code: str) -> ResponseReturnValue:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")), code=303)


def switch_links() -> list[dict[str, str | bool]]:
    """Links for the language selector; a page that answered a POST links back to a GET page."""
    if request.method == "GET" and request.endpoint not in (None, "language.choose"):
        here = request.full_path.rstrip("?")
    else:
        here = url_for("source.submit_form" if "source_id" in session else "source.index")
    current = str(get_locale())
    return [
        {
            "code": code,
            "name": name,
            "current": code == current,
            "href": url_for("language.choose", code=code) + "?" + urlencode({"next": here}),
        }
        for code, name in LANGUAGES.items()
    ]


def install(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(get_locale=get_locale, language_links=switch_links)
    app.jinja_env.filters["file_size"] = file_size
