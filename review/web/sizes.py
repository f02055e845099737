"""Sizes for people: "1.4 GB" in the reviewer's language, with the exact number of bytes beside it.

Decimal units (1 kB = 1000 bytes), as the figures in docs and bench/ count them. The unit names and
the digits' grouping come from the locale data Babel carries (CLDR), so there are no strings to
translate here.
"""

from babel.units import format_unit
from flask_babel import get_locale

UNITS = ("digital-kilobyte", "digital-megabyte", "digital-gigabyte", "digital-terabyte")


def exact_size(size: int) -> str:
    """ "1,503,238,554 bytes", grouped and pluralised as the reviewer's language does it."""
    return format_unit(size, "digital-byte", length="long", locale=get_locale())


def human_size(size: int | None) -> str:
    """The size in the largest unit it reaches, one decimal below 100 ("1.4 GB", "512 MB"); "?" unknown."""
    if size is None:
        return "?"
    if size < 1000:
        return exact_size(size)
    value = size / 1000
    for unit in UNITS[:-1]:
        if round(value, 1 if value < 100 else 0) < 1000:
            return _in(unit, value)
        value /= 1000
    return _in(UNITS[-1], value)


def _in(unit: str, value: float) -> str:
    pattern = "#,##0.#" if value < 100 else "#,##0"
    return format_unit(value, unit, length="short", format=pattern, locale=get_locale())
