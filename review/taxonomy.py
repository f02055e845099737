"""The election incident taxonomy: two levels, stable codes, names in English, Russian and Kazakh.

The data lives in taxonomy.json; codes never change meaning once used (add, never rename).
"""

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from review.errors import ReviewError


@dataclass(frozen=True)
class Incident:
    code: str
    group: str
    names: dict[str, str]

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names["en"]


@cache
def _data() -> dict[str, object]:
    return dict(json.loads(resources.files("review").joinpath("taxonomy.json").read_text("utf-8")))


@cache
def incidents() -> dict[str, Incident]:
    found: dict[str, Incident] = {}
    for group in _data()["groups"]:  # type: ignore[attr-defined]
        for entry in group["incidents"]:
            found[entry["code"]] = Incident(entry["code"], group["code"], entry["names"])
    return found


def groups() -> list[dict[str, object]]:
    return list(_data()["groups"])  # type: ignore[call-overload]


def validate(code: str) -> Incident:
    """Return the incident for code, or refuse naming the nearest codes."""
    known = incidents()
    if code in known:
        return known[code]
    by_name = {i.name(lang).lower(): c for c, i in known.items() for lang in i.names}
    near = [by_name[n] for n in difflib.get_close_matches(code.lower(), list(by_name), n=3, cutoff=0.6)]
    near += difflib.get_close_matches(code, list(known), n=3, cutoff=0.5)
    near = list(dict.fromkeys(near))[:3]
    hint = f" (did you mean {', '.join(near)}?)" if near else " (see `tamga-review taxonomy`)"
    raise ReviewError(f"unknown incident code {code!r}{hint}")
