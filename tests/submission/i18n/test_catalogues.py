"""The kk, ru and en catalogues against the strings the code marks today, extracted in memory.

`make test` fails here when a source-visible string is missing from a catalogue or untranslated,
when a catalogue keeps a fuzzy, obsolete or stale entry, when a translation loses or invents a
placeholder, or when a committed .mo file is older than its .po. The fix is always the same:
`make extract-translations`, translate, `make compile-translations` (docs/translations.md).
The checks are tests/support/catalogue_checks.py's, the same the station's catalogues run through;
the two here are the intake's own.
"""

import re
import shlex
from collections.abc import Callable

import pytest

from tests.support.catalogue_checks import EXTRA_KEYWORDS, INTAKE, ROOT, cases, ids


@pytest.mark.parametrize("check, args", cases(INTAKE))
def test_catalogues(check: Callable[..., None], args: tuple[str, ...]) -> None:
    check(INTAKE, *args)


def test_extraction_finds_the_source_pages_strings() -> None:
    found = ids(INTAKE.extracted())
    assert len(found) >= 60
    assert any(isinstance(i, tuple) for i in found), "the ngettext message"
    assert sum(isinstance(i, tuple) for i in found) == 1, "one ngettext message"


def test_the_makefile_extracts_with_the_same_keywords() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^extract-translations:.*?\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no extract-translations target"
    words = shlex.split(recipe.group(1).replace("\\\n", " "))
    given = {words[i + 1] for i, word in enumerate(words) if word == "-k"}
    assert given == set(EXTRA_KEYWORDS)
    assert "-F" in words and words[words.index("-F") + 1] == INTAKE.mapping
    assert "compile-translations:" in makefile
