"""The inbox: submissions newest first, grouped, status counts, filters, the search, pages."""

import re

from tests.review.web.conftest import MESSAGE, Browser, Evidence


def submissions_shown(page: str) -> list[list[int]]:
    """The item ids of each submission on an inbox page, in the order shown."""
    sections = page.split('<section class="submission">')[1:]
    return [[int(i) for i in re.findall(r'<a href="/item/(\d+)">', section)] for section in sections]


def test_the_inbox_groups_items_by_submission_newest_first(reviewer: Browser, evidence: Evidence) -> None:
    page = reviewer.get("/").get_data(as_text=True)
    assert "2 submissions" in page
    shown = submissions_shown(page)
    assert sorted(map(sorted, shown)) == sorted([[evidence.message], sorted(evidence.ids.values())])
    assert max(shown[0]) > max(shown[1])  # newest (last catalogued) first
    assert f"new: {len(evidence.station.items())}" in page


def test_filters(reviewer: Browser, evidence: Evidence) -> None:
    jpeg = evidence.ids["jpeg"]
    reviewer.post(
        f"/item/{jpeg}/catalogue",
        {"incident": "ballot.stuffing", "region": "Almaty", "polling_station": "112"},
    )
    for query in ("incident=ballot.stuffing", "region=Almaty", "polling_station=112"):
        page = reviewer.get(f"/?{query}").get_data(as_text=True)
        assert "1 submission" in page and f'href="/item/{jpeg}"' in page, query
        assert f'href="/item/{evidence.ids["pdf"]}"' not in page, query
    assert "0 submissions" in reviewer.get("/?status=verified").get_data(as_text=True)
    assert "0 submissions" in reviewer.get("/?since=2999-01-01").get_data(as_text=True)
    assert "2 submissions" in reviewer.get("/?until=2999-01-01").get_data(as_text=True)
    assert reviewer.get("/?since=tomorrow").status_code == 400


def test_search_finds_messages_and_notes(reviewer: Browser, evidence: Evidence) -> None:
    page = reviewer.get("/?q=carousel").get_data(as_text=True)
    assert "1 submission" in page and f'href="/item/{evidence.message}"' in page
    assert MESSAGE not in page  # found, not shown
    assert "0 submissions" in reviewer.get("/?q=nothing-like-this").get_data(as_text=True)
    reviewer.post(f"/item/{evidence.ids['pdf']}/catalogue", {"note": "Protocol of PS 44, signatures missing"})
    page = reviewer.get("/?q=signatures").get_data(as_text=True)
    assert "1 submission" in page and f'href="/item/{evidence.ids["pdf"]}"' in page
    assert not [e for e in evidence.station.events() if e["action"] == "opened"]  # searching opens nothing


def test_a_source_groups_its_submissions(reviewer: Browser, evidence: Evidence) -> None:
    source = evidence.station.show(evidence.message)["source"]
    page = reviewer.get(f"/?source={source}").get_data(as_text=True)
    assert "2 submissions" in page  # both of this source's submissions


def test_pages_of_results(reviewer: Browser, evidence: Evidence, monkeypatch: object) -> None:
    import review.web.inbox_query as query

    monkeypatch.setattr(query, "PAGE_SIZE", 1)  # type: ignore[attr-defined]
    first = reviewer.get("/").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'rel="next" href="/?page=2"' in first
    second = reviewer.get("/?page=2").get_data(as_text=True)
    (on_first,), (on_second,) = submissions_shown(first), submissions_shown(second)
    assert sorted(on_first + on_second) == sorted([evidence.message, *evidence.ids.values()])


def test_the_dashboard_charts_and_custody_state(reviewer: Browser, evidence: Evidence) -> None:
    reviewer.post(
        f"/item/{evidence.ids['jpeg']}/catalogue", {"incident": "ballot.stuffing", "region": "Almaty"}
    )
    page = reviewer.get("/dashboard").get_data(as_text=True)
    assert "Custody log verified" in page
    assert page.count("<svg") == 3
    assert "<td>Almaty</td><td>1</td>" in page
    con = evidence.station.db()
    con.execute("UPDATE custody_events SET hash = 'x' WHERE seq = 2")
    con.commit()
    con.close()
    assert "does not verify" in reviewer.get("/dashboard?verify=whole").get_data(as_text=True)
