"""The station's en, ru and kk catalogues under the same checks as the intake's.

The checks are tests/support/catalogue_checks.py's, run over the station's extraction
(babel-station.cfg) and catalogues (review/translations/), so both UIs are held to the same rules
by the same code. Two intake-only checks are left out: what the intake's pages must contain, and
its Makefile recipe; the glossary holds the terms the station uses. The work flow is
docs/translations.md's, with `-F babel-station.cfg` and `review/translations` (docs/station.md).
"""

from collections.abc import Callable

import pytest

from tests.support.catalogue_checks import STATION, cases


@pytest.mark.parametrize("check, args", cases(STATION))
def test_catalogues(check: Callable[..., None], args: tuple[str, ...]) -> None:
    check(STATION, *args)


def test_the_pages_are_in_the_chosen_language(reviewer: object) -> None:
    for lang, heading in (("ru", "Входящие"), ("kk", "Кіріс қалтасы"), ("en", "Inbox")):
        reviewer.get(f"/language/{lang}?next=/")  # type: ignore[attr-defined]
        page = reviewer.get("/").get_data(as_text=True)  # type: ignore[attr-defined]
        assert f'<html lang="{lang}">' in page and f"<h1>{heading}</h1>" in page
