"""Sizes shown to people: decimal units in the reviewer's language, the exact bytes beside them."""

import re

import pytest
from flask import Flask
from flask_babel import Babel

from review.web.sizes import exact_size, human_size
from tests.review.web.conftest import Browser, Evidence

NBSP = "\xa0"


def in_language(lang: str) -> Flask:
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: lang)
    return app


@pytest.mark.parametrize(
    ("size", "lang", "shown"),
    [
        (None, "en", "?"),
        (0, "en", "0 bytes"),
        (1, "en", "1 byte"),
        (999, "en", "999 bytes"),
        (1000, "en", "1 kB"),
        (1_440, "en", "1.4 kB"),
        (99_940, "en", "99.9 kB"),
        (512_400_000, "en", "512 MB"),
        (999_600, "en", "1 MB"),  # not "1,000 kB"
        (1_400_000_000, "en", "1.4 GB"),
        (2 * 1024**3, "en", "2.1 GB"),
        (5 * 10**15, "en", "5,000 TB"),
        (12_345_678, "ru", "12,3 МБ"),
        (2 * 1024**3, "ru", "2,1 ГБ"),
        (5, "ru", "5 байт"),
        (2 * 1024**3, "kk", "2,1 ГБ"),
    ],
)
def test_human_size(size: int | None, lang: str, shown: str) -> None:
    with in_language(lang).test_request_context():
        assert human_size(size) == shown


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        ("en", "2,147,483,648 bytes"),
        ("ru", f"2{NBSP}147{NBSP}483{NBSP}648 байт"),
        ("kk", f"2{NBSP}147{NBSP}483{NBSP}648 байт"),
    ],
)
def test_exact_size(lang: str, shown: str) -> None:
    with in_language(lang).test_request_context():
        assert exact_size(2 * 1024**3) == shown


def test_the_inbox_and_the_item_page_show_sizes_for_people(reviewer: Browser, evidence: Evidence) -> None:
    pdf = evidence.ids["pdf"]
    size = next(row["size"] for row in evidence.station.items() if row["id"] == pdf)
    assert size >= 1000
    exact = f"{size:,} bytes"
    inbox = reviewer.get("/").get_data(as_text=True)
    line = inbox[inbox.index(f'href="/item/{pdf}"') :]
    shown = re.search(r'<span class="size" title="([^"]+)">([^<]+)</span>', line)
    assert shown and shown.group(1) == exact and re.fullmatch(r"\d+(\.\d)? [kMG]B", shown.group(2))
    page = reviewer.get(f"/item/{pdf}").get_data(as_text=True)
    assert f'<dd id="size">{shown.group(2)} ({exact})</dd>' in page
    assert f">{size}<" not in inbox and f">{size}<" not in page  # no raw byte counts left
