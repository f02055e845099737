"""The station's keys and the whole custody log in the browser: `pubkey` (three forms), `trust-server`,
`custody head`, and every event newest first."""

import html
import re

from crypto.signing import SigningKey
from tests.review.web.conftest import Browser, Evidence

ROW = re.compile(r'<tr><td title="([0-9a-f]{64})">(\d+)</td>')


def rows(page: str) -> list[tuple[str, int]]:
    """(hash, seq) of each event row, in the page's order."""
    return [(digest, int(seq)) for digest, seq in ROW.findall(page)]


def pinned(evidence: Evidence) -> list[str]:
    return [str(key) for (key,) in evidence.station.query("SELECT verify_key FROM trusted_servers")]


def test_the_page_shows_the_keys_exactly_as_pubkey_prints_them(reviewer: Browser, evidence: Evidence) -> None:
    page = html.unescape(reviewer.get("/keys").get_data(as_text=True))
    assert 'href="/keys"' in page  # the nav link
    for args in (("pubkey",), ("pubkey", "--signing"), ("pubkey", "--signing", "--ssh")):
        printed = evidence.station.ok(*args).stdout.strip()
        assert f"<code>{printed}</code>" in page, args
    assert str(evidence.station.recipient) in page
    for key in pinned(evidence):
        assert f"<code>{key}</code>" in page


def test_pinning_a_server_key_as_trust_server_does(reviewer: Browser, evidence: Evidence) -> None:
    key = SigningKey.generate().verify_key
    response = reviewer.post("/keys/trust", {"key": f"  {key}\n"})
    assert response.status_code == 303 and response.headers["Location"] == "/keys"
    page = reviewer.get("/keys").get_data(as_text=True)
    assert f"Trusted server key {key} (fingerprint {key.fingerprint})" in page
    assert "already pinned" not in page
    assert str(key) in pinned(evidence)
    assert evidence.station.verify() > 0  # pinning leaves the custody log as the command does: valid

    again = reviewer.post("/keys/trust", {"key": str(key)})  # the CLI: pinning again changes nothing
    assert again.status_code == 303
    page = reviewer.get("/keys").get_data(as_text=True)
    assert "This server key was already pinned: nothing changed." in page
    assert pinned(evidence).count(str(key)) == 1


def test_a_malformed_key_is_refused_as_the_command_refuses_it(reviewer: Browser, evidence: Evidence) -> None:
    before = pinned(evidence)
    line = evidence.station.refused("trust-server", "tamgapub1nonsense")
    response = reviewer.post("/keys/trust", {"key": "tamgapub1nonsense"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The station refused this request" in page and line.removeprefix("Error: ") in page
    assert reviewer.post("/keys/trust", {"key": ""}).status_code == 400
    assert pinned(evidence) == before


def test_pinning_needs_the_form_token_and_an_unlocked_station(browser: Browser, evidence: Evidence) -> None:
    key = str(SigningKey.generate().verify_key)
    assert browser.get("/keys").status_code == 303  # locked: to the unlock page
    assert browser.get("/custody/log").status_code == 303
    assert browser.post("/keys/trust", {"key": key}).status_code == 403
    browser.post("/unlock", {"passphrase": evidence.station.PASSPHRASE, "actor": "web-tester"})
    refused = browser.post("/keys/trust", {"key": key}, csrf=False)
    assert refused.status_code == 400 and "did not come from this station" in refused.get_data(as_text=True)
    assert key not in pinned(evidence)


def test_the_import_refusal_without_a_pinned_server_links_to_pinning(
    reviewer: Browser, evidence: Evidence
) -> None:
    with evidence.station.db() as con:
        con.execute("DELETE FROM trusted_servers")
    page = reviewer.post("/import/path", {"path": "/nonexistent/bundle.tar"}).get_data(as_text=True)
    assert "no intake server key is pinned" in page and 'id="mend" href="/keys"' in page
    assert 'id="none-pinned"' in reviewer.get("/keys").get_data(as_text=True)


def test_the_custody_log_shows_the_head_and_every_event_newest_first(
    reviewer: Browser, evidence: Evidence
) -> None:
    assert 'href="/custody/log"' in reviewer.get("/custody").get_data(as_text=True)
    head = evidence.station.ok("custody", "head").stdout.strip()
    page = reviewer.get("/custody/log").get_data(as_text=True)
    assert f'<code id="head">{head}</code>' in page
    events = evidence.station.events()
    shown = rows(page)
    assert shown[0] == (head, len(events))
    assert [seq for _, seq in shown] == sorted((event["seq"] for event in events), reverse=True)[:50]
    assert f'<a href="/item/{evidence.message}">item:{evidence.message}</a>' in page


def test_the_custody_log_is_paged(reviewer: Browser, evidence: Evidence, monkeypatch: object) -> None:
    from review.web import station_keys

    monkeypatch.setattr(station_keys, "EVENTS_PER_PAGE", 2)  # type: ignore[attr-defined]
    total = len(evidence.station.events())
    first = reviewer.get("/custody/log").get_data(as_text=True)
    assert rows(first) == [(evidence.station.head(), total), (rows(first)[1][0], total - 1)]
    last_page = -(-total // 2)
    assert f"Page 1 of {last_page}" in first and 'rel="next" href="/custody/log?page=2"' in first
    last = reviewer.get(f"/custody/log?page={last_page}").get_data(as_text=True)
    assert [seq for _, seq in rows(last)][-1] == 1 and 'rel="next"' not in last
    assert f"Page {last_page} of {last_page}" in reviewer.get("/custody/log?page=999").get_data(as_text=True)


def test_the_new_pages_are_in_the_chosen_language(reviewer: Browser) -> None:
    for lang, keys, log in (
        ("ru", "Ключи станции", "Журнал хранения"),
        ("kk", "Станция кілттері", "Сақтау журналы"),
    ):
        reviewer.get(f"/language/{lang}?next=/")
        assert f"<h1>{keys}</h1>" in reviewer.get("/keys").get_data(as_text=True)
        assert f"<h1>{log}</h1>" in reviewer.get("/custody/log").get_data(as_text=True)
