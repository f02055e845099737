"""The station's language: English, Russian or Kazakh, from the browser or the links on every page."""

from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Flask, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale

from review import taxonomy

LANGUAGES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
DEFAULT = "en"
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"  # <lang>/LC_MESSAGES/messages.po

bp = Blueprint("language", __name__)


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT)


@bp.get("/language/<code>")
def choose(code: str) -> ResponseReturnValue:
    if code in LANGUAGES:
        session["lang"] = code
    target = request.args.get("next", "")
    local = target.startswith("/") and not target.startswith("//") and target.isprintable()
    return redirect(target if local and "\\" not in target else url_for("inbox.index"), code=303)


def language_links() -> list[dict[str, str | bool]]:
    here = request.full_path.rstrip("?") if request.method == "GET" else url_for("inbox.index")
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


def incident_name(code: str) -> str:
    """An incident code's name in the reviewer's language (the code itself when unknown)."""
    found = taxonomy.incidents().get(code)
    return found.name(str(get_locale())) if found else code


def install(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(get_locale=get_locale, language_links=language_links)
    app.jinja_env.filters["incident_name"] = incident_name
