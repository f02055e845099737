"""The checks every UI's gettext catalogues must pass, and the two UIs' catalogues they run over.

A `Catalogues` says where one UI keeps its catalogues and how its strings are extracted; each
test module parametrises the same checks (`cases`) over its own (`INTAKE`, `STATION`), so the
intake and the station are held to the same rules by the same code. A check fails with the fix
in its message: extract, translate, compile (docs/translations.md; for the station
`-F babel-station.cfg` and `review/translations`, docs/station.md).
"""

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.support import Translations

from review.web import i18n as station_i18n

ROOT = Path(__file__).resolve().parents[2]

# The Makefile's `pybabel extract` uses Babel's default keywords plus these two.
EXTRA_KEYWORDS = ("_l", "lazy_gettext")
KEYWORDS = {**DEFAULT_KEYWORDS, **dict.fromkeys(EXTRA_KEYWORDS)}
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?([diouxXeEfFgGcrsa%])")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# Which form each number must get, for the languages with plural forms to check.
PLURAL_CASES = {
    "ru": {0: (1, 21, 101), 1: (2, 3, 4, 22), 2: (0, 5, 11, 12, 14, 25, 111)},
    "kk": {0: (1,), 1: (0, 2, 5)},
}


@dataclass(frozen=True, eq=False)
class Catalogues:
    """One UI's catalogues: where they live, how its strings are extracted, what they must hold."""

    name: str
    directory: Path  # <lang>/LC_MESSAGES/messages.po and .mo
    mapping: str  # the babel mapping cfg, relative to ROOT
    languages: tuple[str, ...]
    # Terms that must be translated the same way everywhere (docs/translations.md, glossary).
    glossary: Mapping[str, Mapping[str, str]]
    expected: tuple[str, ...]  # strings the extraction must find (a template, a view, ...)
    translated: tuple[str, ...] = field(default=("kk", "ru"))  # the languages not English

    def po_path(self, lang: str) -> Path:
        return self.directory / lang / "LC_MESSAGES" / "messages.po"

    def mo_path(self, lang: str) -> Path:
        return self.directory / lang / "LC_MESSAGES" / "messages.mo"

    def load_po(self, lang: str) -> Catalog:
        with open(self.po_path(lang), "rb") as f:
            return read_po(f, locale=lang)

    def translations(self, lang: str) -> Translations:
        """The compiled catalogue, as the app loads it."""
        return Translations.load(str(self.directory), [lang])

    def extracted(self) -> Catalog:
        """What `pybabel extract -F <mapping>` would write to messages.pot, built in memory."""
        return _extract(self.mapping)


@cache
def _extract(mapping: str) -> Catalog:
    with open(ROOT / mapping) as f:
        method_map, options_map = parse_mapping_cfg(f, mapping)
    catalog = Catalog(project="Tamga")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


INTAKE = Catalogues(
    name="intake",
    directory=ROOT / "submission" / "translations",
    mapping="babel.cfg",
    languages=("kk", "ru", "en"),
    glossary={
        "codename": {"ru": "кодов", "kk": "кодтық атау"},
        "reviewers": {"ru": "получател", "kk": "алушы"},
    },
    expected=(
        "Send evidence of election violations safely",  # a template
        "This submission is too large. Send fewer or smaller files at a time.",  # errors.py
        "There was nothing to send. Write a message or choose at least one file.",  # receiver
    ),
)
STATION = Catalogues(
    name="station",
    directory=station_i18n.TRANSLATIONS,
    mapping="babel-station.cfg",
    languages=tuple(station_i18n.LANGUAGES),
    glossary={
        "submission": {"ru": "отправ", "kk": "жіберілген материал"},
        "custody log": {"ru": "журнал", "kk": "журнал"},
    },
    expected=(
        "Unlock the station",  # a template
        "The passphrase did not open the station's keys.",  # a view
        "The station is locked. Unlock it first.",  # the error pages (lazy_gettext)
    ),
)


def ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def forms(string: object) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, tuple | list) else (str(string or ""),)


def placeholders(text: str) -> list[tuple[str | None, str]]:
    return sorted(
        ((name, kind) for name, kind in PLACEHOLDER.findall(text) if kind != "%"), key=lambda p: str(p)
    )


# --- the checks: each takes the catalogues, then a language (and a glossary term) or nothing --------


def extraction_finds_the_expected_strings(c: Catalogues) -> None:
    found = ids(c.extracted())
    missing = [s for s in c.expected if s not in found]
    assert missing == [], f"not extracted with {c.mapping}"


def header(c: Catalogues, lang: str) -> None:
    catalog = c.load_po(lang)
    assert not catalog.fuzzy, "the header is still marked fuzzy"
    assert str(catalog.locale) == lang
    assert catalog.charset == "utf-8"
    assert (catalog.num_plurals, catalog.plural_expr) == tuple(get_plural(Locale.parse(lang)))
    if lang in c.translated:
        assert "FULL NAME" not in (catalog.last_translator or "")


def every_extracted_message_is_translated(c: Catalogues, lang: str) -> None:
    catalog = c.load_po(lang)
    missing, empty = [], []
    for message in c.extracted():
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        if entry is None:
            missing.append(message.id)
            continue
        strings = forms(entry.string)
        wrong_count = message.pluralizable and len(strings) != catalog.num_plurals
        if wrong_count or not all(s.strip() for s in strings):
            empty.append(message.id)
    assert missing == [], f"not in {lang}/messages.po: extract the translations ({c.mapping})"
    assert empty == [], f"untranslated in {lang}/messages.po"


def no_fuzzy_obsolete_or_stale_entries(c: Catalogues, lang: str) -> None:
    catalog = c.load_po(lang)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], "fuzzy entries are not shown by the app: check and unflag them"
    assert list(catalog.obsolete) == [], "obsolete (#~) entries: remove them"
    stale = ids(catalog) - ids(c.extracted())
    assert stale == set(), f"no longer in the code: extract the translations ({c.mapping})"


def babel_checks_pass(c: Catalogues, lang: str) -> None:
    """Babel's own checkers: python-format compatibility and the number of plural forms."""
    problems = [(m.id, [str(e) for e in errors]) for m, errors in c.load_po(lang).check()]
    assert problems == []


def placeholders_are_kept_exactly(c: Catalogues, lang: str) -> None:
    for message in c.load_po(lang):
        if not message.id:
            continue
        expected = [placeholders(text) for text in forms(message.id)]
        for string in forms(message.string):
            assert placeholders(string) in expected, (message.id, string)
            # Jinja's new-style gettext always applies `%` with the keyword arguments.
            values = {name: 1 for name, _ in placeholders(forms(message.id)[0]) if name}
            string % values  # raises on a stray or broken % sign


def committed_mo_matches_the_po(c: Catalogues, lang: str) -> None:
    assert c.mo_path(lang).exists(), "compile the translations"
    compiled = io.BytesIO()
    write_mo(compiled, c.load_po(lang))
    compiled.seek(0)
    fresh = read_mo(compiled)
    with open(c.mo_path(lang), "rb") as f:
        committed = read_mo(f)

    def contents(catalog: Catalog) -> dict[tuple[str, ...], tuple[str, ...]]:
        return {forms(m.id): forms(m.string) for m in catalog if m.id}

    assert contents(committed) == contents(fresh), "the .mo is out of date: compile the translations"
    assert committed.plural_forms == fresh.plural_forms


def translations_are_in_cyrillic(c: Catalogues, lang: str) -> None:
    for message in c.load_po(lang):
        if message.id:
            for string in forms(message.string):
                assert CYRILLIC.search(string), (lang, message.id, string)
                assert string not in forms(message.id), ("copied from English", message.id)


def kazakh_uses_kazakh_letters_and_russian_does_not(c: Catalogues) -> None:
    kk = "".join(s for m in c.load_po("kk") if m.id for s in forms(m.string))
    ru = "".join(s for m in c.load_po("ru") if m.id for s in forms(m.string))
    assert len(KAZAKH_LETTERS & set(kk)) >= 6, "Kazakh Cyrillic letters (ә ғ қ ң ө ұ ү һ і) missing"
    assert KAZAKH_LETTERS & set(ru) == set(), "Kazakh letters in the Russian catalogue"
    kazakh = c.load_po("kk")
    with_kazakh_letters = [m for m in kazakh if m.id and KAZAKH_LETTERS & set(forms(m.string)[0])]
    assert len(with_kazakh_letters) >= len(kazakh) * 3 // 4


def kazakh_and_russian_are_not_the_same_text(c: Catalogues) -> None:
    kk, ru = c.load_po("kk"), c.load_po("ru")
    same = [m.id for m in kk if m.id and m.string == ru.get(m.id).string]
    assert same == []


def english_is_the_identity(c: Catalogues) -> None:
    for message in c.load_po("en"):
        if message.id:
            assert forms(message.string) == forms(message.id)


def glossary_terms_are_used_consistently(c: Catalogues, lang: str, term: str) -> None:
    wanted = c.glossary[term][lang]
    checked = 0
    for message in c.load_po(lang):
        if message.id and term in " ".join(forms(message.id)).lower():
            for string in forms(message.string):
                assert wanted in string.lower(), (message.id, string)
                checked += 1
    assert checked >= 3, f"{term!r} is in fewer than three {lang} translations"


def compiled_plural_forms_are_chosen_by_number(c: Catalogues, lang: str) -> None:
    catalog = c.load_po(lang)
    plurals = [m.id for m in catalog if isinstance(m.id, tuple)]
    assert plurals, "no ngettext message to check"
    loaded = c.translations(lang)
    for singular, plural in plurals:
        expected = forms(catalog.get(singular).string)
        for index, numbers in PLURAL_CASES[lang].items():
            for n in numbers:
                assert loaded.ngettext(singular, plural, n) == expected[index], (lang, n)


Check = Callable[..., None]


def cases(c: Catalogues) -> list[object]:
    """Every check with the arguments it runs with for `c`, as pytest params named after both."""
    per_language: tuple[Check, ...] = (
        header,
        every_extracted_message_is_translated,
        no_fuzzy_obsolete_or_stale_entries,
        babel_checks_pass,
        placeholders_are_kept_exactly,
        committed_mo_matches_the_po,
    )
    arguments: list[tuple[Check, tuple[str, ...]]] = [(extraction_finds_the_expected_strings, ())]
    arguments += [(check, (lang,)) for check in per_language for lang in c.languages]
    arguments += [(translations_are_in_cyrillic, (lang,)) for lang in c.translated]
    arguments += [
        (kazakh_uses_kazakh_letters_and_russian_does_not, ()),
        (kazakh_and_russian_are_not_the_same_text, ()),
        (english_is_the_identity, ()),
    ]
    arguments += [
        (glossary_terms_are_used_consistently, (lang, term)) for lang in c.translated for term in c.glossary
    ]
    arguments += [(compiled_plural_forms_are_chosen_by_number, (lang,)) for lang in PLURAL_CASES]
    return [pytest.param(check, args, id="-".join((check.__name__, *args))) for check, args in arguments]
