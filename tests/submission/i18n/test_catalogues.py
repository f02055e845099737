"""The kk, ru and en catalogues against the strings the code marks today, extracted in memory.

`make test` fails here when a source-visible string is missing from a catalogue or untranslated,
when a catalogue keeps a fuzzy, obsolete or stale entry, when a translation loses or invents a
placeholder, or when a committed .mo file is older than its .po. The fix is always the same:
`make extract-translations`, translate, `make compile-translations` (docs/translations.md).
"""

import io
import re
import shlex
from functools import cache

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.plurals import get_plural

from tests.support.i18n import LANGUAGES, ROOT, TRANSLATED, load_po, mo_path, translations

# The Makefile's `pybabel extract` uses Babel's default keywords plus these two.
EXTRA_KEYWORDS = ("_l", "lazy_gettext")
KEYWORDS = {**DEFAULT_KEYWORDS, **dict.fromkeys(EXTRA_KEYWORDS)}
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?([diouxXeEfFgGcrsa%])")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# Terms that must be translated the same way everywhere (docs/translations.md, glossary).
GLOSSARY = {
    "codename": {"ru": "кодов", "kk": "кодтық атау"},
    "reviewers": {"ru": "получател", "kk": "алушы"},
}


@cache
def extracted() -> Catalog:
    """What `make extract-translations` would write to messages.pot, built in memory."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    catalog = Catalog(project="Tamga")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def forms(string: object) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, tuple | list) else (str(string or ""),)


def placeholders(text: str) -> list[tuple[str | None, str]]:
    return sorted(
        ((name, kind) for name, kind in PLACEHOLDER.findall(text) if kind != "%"), key=lambda p: str(p)
    )


def test_extraction_finds_the_source_pages_strings() -> None:
    found = ids(extracted())
    assert len(found) >= 60
    assert "Send evidence of election violations safely" in found  # a template
    assert "This submission is too large. Send fewer or smaller files at a time." in found  # errors.py
    assert "There was nothing to send. Write a message or choose at least one file." in found  # receiver
    assert any(isinstance(i, tuple) for i in found), "the ngettext message"


def test_the_makefile_extracts_with_the_same_keywords() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^extract-translations:.*?\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no extract-translations target"
    words = shlex.split(recipe.group(1).replace("\\\n", " "))
    given = {words[i + 1] for i, word in enumerate(words) if word == "-k"}
    assert given == set(EXTRA_KEYWORDS)
    assert "-F" in words and words[words.index("-F") + 1] == "babel.cfg"
    assert "compile-translations:" in makefile


@pytest.mark.parametrize("lang", LANGUAGES)
def test_header(lang: str) -> None:
    catalog = load_po(lang)
    assert not catalog.fuzzy, "the header is still marked fuzzy"
    assert str(catalog.locale) == lang
    assert catalog.charset == "utf-8"
    assert (catalog.num_plurals, catalog.plural_expr) == tuple(get_plural(Locale.parse(lang)))
    if lang in TRANSLATED:
        assert "FULL NAME" not in (catalog.last_translator or "")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_extracted_message_is_translated(lang: str) -> None:
    catalog = load_po(lang)
    missing, empty = [], []
    for message in extracted():
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
    assert missing == [], f"not in {lang}/messages.po: run `make extract-translations`"
    assert empty == [], f"untranslated in {lang}/messages.po"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_fuzzy_obsolete_or_stale_entries(lang: str) -> None:
    catalog = load_po(lang)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], "fuzzy entries are not shown by the app: check and unflag them"
    assert list(catalog.obsolete) == [], "obsolete (#~) entries: remove them"
    stale = ids(catalog) - ids(extracted())
    assert stale == set(), "no longer in the code: run `make extract-translations`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_babel_checks_pass(lang: str) -> None:
    """Babel's own checkers: python-format compatibility and the number of plural forms."""
    problems = [(m.id, [str(e) for e in errors]) for m, errors in load_po(lang).check()]
    assert problems == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_are_kept_exactly(lang: str) -> None:
    for message in load_po(lang):
        if not message.id:
            continue
        expected = [placeholders(text) for text in forms(message.id)]
        for string in forms(message.string):
            assert placeholders(string) in expected, (message.id, string)
            # Jinja's new-style gettext always applies `%` with the keyword arguments.
            values = {name: 1 for name, _ in placeholders(forms(message.id)[0]) if name}
            string % values  # raises on a stray or broken % sign


@pytest.mark.parametrize("lang", LANGUAGES)
def test_committed_mo_matches_the_po(lang: str) -> None:
    assert mo_path(lang).exists(), "run `make compile-translations`"
    compiled = io.BytesIO()
    write_mo(compiled, load_po(lang))
    compiled.seek(0)
    fresh = read_mo(compiled)
    with open(mo_path(lang), "rb") as f:
        committed = read_mo(f)

    def contents(catalog: Catalog) -> dict[tuple[str, ...], tuple[str, ...]]:
        return {forms(m.id): forms(m.string) for m in catalog if m.id}

    assert contents(committed) == contents(fresh), "the .mo is out of date: run `make compile-translations`"
    assert committed.plural_forms == fresh.plural_forms


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_are_in_cyrillic(lang: str) -> None:
    catalog = load_po(lang)
    for message in catalog:
        if message.id:
            for string in forms(message.string):
                assert CYRILLIC.search(string), (lang, message.id, string)
                assert string not in forms(message.id), ("copied from English", message.id)


def test_kazakh_uses_kazakh_letters_and_russian_does_not() -> None:
    kk = "".join(s for m in load_po("kk") if m.id for s in forms(m.string))
    ru = "".join(s for m in load_po("ru") if m.id for s in forms(m.string))
    assert len(KAZAKH_LETTERS & set(kk)) >= 6, "Kazakh Cyrillic letters (ә ғ қ ң ө ұ ү һ і) missing"
    assert KAZAKH_LETTERS & set(ru) == set(), "Kazakh letters in the Russian catalogue"
    with_kazakh_letters = [m for m in load_po("kk") if m.id and KAZAKH_LETTERS & set(forms(m.string)[0])]
    assert len(with_kazakh_letters) >= len(load_po("kk")) * 3 // 4


def test_kazakh_and_russian_are_not_the_same_text() -> None:
    kk, ru = load_po("kk"), load_po("ru")
    same = [m.id for m in kk if m.id and m.string == ru.get(m.id).string]
    assert same == []


def test_english_is_the_identity() -> None:
    for message in load_po("en"):
        if message.id:
            assert forms(message.string) == forms(message.id)


@pytest.mark.parametrize("term", GLOSSARY)
@pytest.mark.parametrize("lang", TRANSLATED)
def test_glossary_terms_are_used_consistently(lang: str, term: str) -> None:
    wanted = GLOSSARY[term][lang]
    checked = 0
    for message in load_po(lang):
        if message.id and term in " ".join(forms(message.id)).lower():
            for string in forms(message.string):
                assert wanted in string.lower(), (message.id, string)
                checked += 1
    assert checked >= 3


PLURAL_CASES = {
    "ru": {0: (1, 21, 101), 1: (2, 3, 4, 22), 2: (0, 5, 11, 12, 14, 25, 111)},
    "kk": {0: (1,), 1: (0, 2, 5)},
}


@pytest.mark.parametrize("lang", PLURAL_CASES)
def test_the_compiled_plural_forms_are_chosen_by_number(lang: str) -> None:
    counts = PLURAL_CASES[lang]
    catalog = load_po(lang)
    ((singular, plural),) = [m.id for m in catalog if isinstance(m.id, tuple)]
    expected = forms(catalog.get(singular).string)
    loaded = translations(lang)
    for index, numbers in counts.items():
        for n in numbers:
            assert loaded.ngettext(singular, plural, n) == expected[index], (lang, n)
