"""The intake's catalogues (described by catalogue_checks.INTAKE), and reading a rendered page for
the i18n tests: its visible text, language, charset and selector, and what is left of the English
catalogue in it."""

import re
from functools import cache
from html.parser import HTMLParser

from babel.messages.catalog import Catalog
from babel.support import Translations

from tests.support.catalogue_checks import INTAKE

LANGUAGES = INTAKE.languages
TRANSLATED = INTAKE.translated  # the languages whose pages must carry no English sentence


def load_po(lang: str) -> Catalog:
    return INTAKE.load_po(lang)


def translations(lang: str) -> Translations:
    """The compiled catalogue, as the app loads it."""
    return INTAKE.translations(lang)


# Names that stay as they are in every language (and the language names of the selector).
NAMES = ("Tor Browser", "JavaScript", "Tamga", "English", "Safest", "Settings", "GPS", "GiB", "Tor")

# --- reading a page ----------------------------------------------------------------------


class Page(HTMLParser):
    """Visible text (title and aria-labels in, the codename apart), <html lang>, charset, selector."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.charsets: list[str] = []
        self.links: list[dict[str, str | None]] = []
        self.scripts = 0
        self.codename: str | None = None
        self._texts: list[str] = []
        self._hidden = 0
        self._in_selector = False
        self._in_codename = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        elif tag == "meta" and attributes.get("charset"):
            self.charsets.append(str(attributes["charset"]))
        elif tag in ("script", "style"):
            self._hidden += 1
            self.scripts += tag == "script"
        elif tag == "nav" and "languages" in str(attributes.get("class", "")).split():
            self._in_selector = True
        elif tag == "a" and self._in_selector:
            self.links.append(attributes)
        if attributes.get("aria-label"):
            self._texts.append(str(attributes["aria-label"]))
        if attributes.get("id") == "codename":
            self._in_codename = True
            self.codename = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1
        elif tag == "nav":
            self._in_selector = False
        elif tag == "p":
            self._in_codename = False

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._in_codename:
            self.codename = (self.codename or "") + data
        else:
            self._texts.append(data)

    @property
    def text(self) -> str:
        return collapse(" ".join(self._texts))


def collapse(text: str) -> str:
    return " ".join(text.split())


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@cache
def english_fragments() -> list[str]:
    """Every English msgid (singular and plural), cut at its placeholders, pieces over 12 characters."""
    pieces = set()
    for message in load_po("en"):
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            for piece in PLACEHOLDER.split(text):
                piece = collapse(piece).strip(" .,:;")
                if len(piece) > 12 and piece not in NAMES:
                    pieces.add(piece)
    return sorted(pieces)


ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[\s,.:;!?()«»“”\"]+[A-Za-z][A-Za-z'’-]*){2,}")


def english_left(text: str) -> list[str]:
    """English sentences on a page: whole catalogue msgids, then any run of three Latin words."""
    lowered = text.lower()
    found = [piece for piece in english_fragments() if piece.lower() in lowered]
    for name in NAMES:
        text = text.replace(name, " ")
    return found + ENGLISH_RUN.findall(text)


def t(lang: str, msgid: str, **variables: object) -> str:
    """What the page shows for `msgid` in `lang`, from the compiled catalogue the app loads."""
    translated = translations(lang).gettext(msgid)
    return collapse(translated % variables if variables else translated)
