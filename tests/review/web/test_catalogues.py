"""The station's en, ru and kk catalogues under the intake's own catalogue checks.

The checks are tests/i18n/test_catalogues.py itself, loaded a second time with the station's
extraction (babel-station.cfg) and catalogues (review/translations/) in place of the intake's, so
both UIs are held to the same rules by the same code. Two intake-only checks are left out: what
the intake's pages must contain, and its Makefile recipe; the glossary check applies to terms the
station uses. The work flow is docs/translations.md's, with `-F babel-station.cfg` and
`review/translations` (docs/station.md).
"""

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from review.web.i18n import LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[3]
MAPPING = "babel-station.cfg"


def _second_copy(name: str, relative: str) -> ModuleType:
    """A module of the intake's i18n tests loaded once more, for the station to point elsewhere."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


catalogues = _second_copy("station_catalogues", "tests/i18n/conftest.py")  # po_path, load_po, ...
catalogues.TRANSLATIONS = TRANSLATIONS
checks = _second_copy("station_catalogue_checks", "tests/i18n/test_catalogues.py")
load_po, translations = catalogues.load_po, catalogues.translations


@cache
def extracted() -> Catalog:
    """What `pybabel extract -F babel-station.cfg` would write, built in memory."""
    with open(ROOT / MAPPING) as f:
        method_map, options_map = parse_mapping_cfg(f, MAPPING)
    catalog = Catalog(project="Tamga")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=checks.KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


checks.LANGUAGES = tuple(LANGUAGES)
checks.load_po, checks.mo_path = catalogues.load_po, catalogues.mo_path
checks.translations, checks.extracted = catalogues.translations, extracted
checks.GLOSSARY = {
    "submission": {"ru": "отправ", "kk": "жіберілген материал"},
    "custody log": {"ru": "журнал", "kk": "журнал"},
}

test_header = checks.test_header
test_every_extracted_message_is_translated = checks.test_every_extracted_message_is_translated
test_no_fuzzy_obsolete_or_stale_entries = checks.test_no_fuzzy_obsolete_or_stale_entries
test_babel_checks_pass = checks.test_babel_checks_pass
test_placeholders_are_kept_exactly = checks.test_placeholders_are_kept_exactly
test_committed_mo_matches_the_po = checks.test_committed_mo_matches_the_po
test_translations_are_in_cyrillic = checks.test_translations_are_in_cyrillic
test_kazakh_uses_kazakh_letters_and_russian_does_not = (
    checks.test_kazakh_uses_kazakh_letters_and_russian_does_not
)
test_kazakh_and_russian_are_not_the_same_text = checks.test_kazakh_and_russian_are_not_the_same_text
test_english_is_the_identity = checks.test_english_is_the_identity


@pytest.mark.parametrize("term", checks.GLOSSARY)
@pytest.mark.parametrize("lang", checks.TRANSLATED)
def test_glossary_terms_are_used_consistently(lang: str, term: str) -> None:
    checks.test_glossary_terms_are_used_consistently(lang, term)


def test_extraction_finds_the_station_strings() -> None:
    found = checks.ids(extracted())
    assert "Unlock the station" in found  # a template
    assert "The passphrase did not open the station's keys." in found  # a view
    assert "The station is locked. Unlock it first." in found  # the error pages (lazy_gettext)


def test_the_compiled_plural_forms_are_chosen_by_number() -> None:
    for lang, counts in checks.PLURAL_CASES.items():
        catalog = load_po(lang)
        for singular, plural in [m.id for m in catalog if isinstance(m.id, tuple)]:
            expected = checks.forms(catalog.get(singular).string)
            for index, numbers in counts.items():
                for n in numbers:
                    assert translations(lang).ngettext(singular, plural, n) == expected[index], (lang, n)


def test_the_pages_are_in_the_chosen_language(reviewer: object) -> None:
    for lang, heading in (("ru", "Входящие"), ("kk", "Кіріс қалтасы"), ("en", "Inbox")):
        reviewer.get(f"/language/{lang}?next=/")  # type: ignore[attr-defined]
        page = reviewer.get("/").get_data(as_text=True)  # type: ignore[attr-defined]
        assert f'<html lang="{lang}">' in page and f"<h1>{heading}</h1>" in page
