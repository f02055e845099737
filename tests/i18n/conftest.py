"""The intake fixtures (app, client, data_dir, reviewer, ...) and the catalogues, shared by the i18n tests."""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.support import Translations

from tests.intake.conftest import app, client, data_dir, database_url, reviewer, settings

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "submission" / "translations"
LANGUAGES = ("kk", "ru", "en")
TRANSLATED = ("kk", "ru")  # the languages whose pages must carry no English sentence


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def mo_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"


def load_po(lang: str) -> Catalog:
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang)


def translations(lang: str) -> Translations:
    """The compiled catalogue, as the app loads it."""
    return Translations.load(str(TRANSLATIONS), [lang])


__all__ = [
    "LANGUAGES",
    "ROOT",
    "TRANSLATED",
    "TRANSLATIONS",
    "app",
    "client",
    "data_dir",
    "database_url",
    "load_po",
    "mo_path",
    "po_path",
    "reviewer",
    "settings",
    "translations",
]
