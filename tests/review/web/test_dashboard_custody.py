"""The dashboard's custody state: the whole log verified once per unlock, then only the new events.

What the cheap step does not look at (an event verified earlier, rewritten since) must still be
found by the whole verification: the dashboard's own on request, after Lock, and `custody verify`.
"""

import hashlib
import re

from tests.review.web.conftest import Browser, Evidence
from tests.support.station import Station

WHOLE_AT = re.compile(
    r"The whole log was last verified from its first event at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
)


def events_verified(page: str) -> int:
    match = re.search(r"Custody log verified: (\d+) events?\.", page)
    assert match, page
    return int(match.group(1))


def rewrite_event(station: Station, seq: int) -> None:
    """Someone with the catalogue file changes who did what in an event already verified."""
    con = station.db()
    (record,) = con.execute("SELECT record FROM custody_events WHERE seq = ?", (seq,)).fetchone()
    rewritten = record.replace('"actor":"', '"actor":"mallory-')
    con.execute("UPDATE custody_events SET record = ? WHERE seq = ?", (rewritten, seq))
    con.commit()
    con.close()


def append_forged_event(station: Station) -> int:
    """An event written without the station's signing key: the last one copied, its seq and prev moved on."""
    con = station.db()
    seq, record, digest, obj = con.execute(
        "SELECT seq, record, hash, object FROM custody_events ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    forged = re.sub(r'"prev":"[0-9a-f]{64}"', f'"prev":"{digest}"', record).replace(
        f'"seq":{seq},', f'"seq":{seq + 1},'
    )
    con.execute(
        "INSERT INTO custody_events (seq, record, hash, object) VALUES (?, ?, ?, ?)",
        (seq + 1, forged, hashlib.sha256(forged.encode()).hexdigest(), obj),
    )
    con.commit()
    con.close()
    return seq + 1


def test_the_first_dashboard_verifies_the_whole_log_and_says_when(
    reviewer: Browser, evidence: Evidence
) -> None:
    page = reviewer.get("/dashboard").get_data(as_text=True)
    assert events_verified(page) == evidence.station.verify()
    assert WHOLE_AT.search(page) and "event added after that" not in page
    assert "shows only when the whole log is verified again" in page
    assert 'href="/dashboard?verify=whole"' in page


def test_new_events_are_verified_on_the_next_dashboard(reviewer: Browser, evidence: Evidence) -> None:
    before = events_verified(reviewer.get("/dashboard").get_data(as_text=True))
    reviewer.post(
        f"/item/{evidence.ids['pdf']}/catalogue", {"region": "Almaty", "note": "signatures missing"}
    )
    page = reviewer.get("/dashboard").get_data(as_text=True)
    added = events_verified(page) - before
    assert added == 2 and events_verified(page) == evidence.station.verify()  # a tag and a note event
    assert WHOLE_AT.search(page) and "the 2 events added after that have been verified too" in page
    forged = append_forged_event(evidence.station)
    page = reviewer.get("/dashboard").get_data(as_text=True)
    assert f"does not verify: custody log broken at event {forged}: its signature does not verify" in page


def test_a_rewritten_old_event_is_found_by_the_whole_verification(
    reviewer: Browser, evidence: Evidence
) -> None:
    events = events_verified(reviewer.get("/dashboard").get_data(as_text=True))
    assert events > 3
    rewrite_event(evidence.station, 2)
    # The cheap step checks what was added and the last event verified, not event 2; the page says
    # when the whole log was verified and that such a change shows only on a whole verification.
    page = reviewer.get("/dashboard").get_data(as_text=True)
    assert events_verified(page) == events and WHOLE_AT.search(page)
    broken = "custody log broken at event 2: its signature does not verify"
    assert broken in evidence.station.refused("custody", "verify")
    page = reviewer.get("/dashboard?verify=whole").get_data(as_text=True)
    assert f"The custody log does not verify: {broken}" in page and "Custody log verified" not in page
    assert broken in reviewer.get("/dashboard").get_data(as_text=True)  # nothing verified to build on


def test_a_changed_last_verified_event_is_found_without_the_whole_verification(
    reviewer: Browser, evidence: Evidence
) -> None:
    events = events_verified(reviewer.get("/dashboard").get_data(as_text=True))
    rewrite_event(evidence.station, events)
    page = reviewer.get("/dashboard").get_data(as_text=True)
    assert f"custody log broken at event {events}: it changed since it was verified" in page


def test_a_removed_old_event_is_found_without_the_whole_verification(
    reviewer: Browser, evidence: Evidence
) -> None:
    events_verified(reviewer.get("/dashboard").get_data(as_text=True))
    con = evidence.station.db()
    con.execute("DELETE FROM custody_events WHERE seq = 3")
    con.commit()
    con.close()
    assert "events verified earlier are missing" in reviewer.get("/dashboard").get_data(as_text=True)


def test_lock_forgets_what_was_verified(reviewer: Browser, evidence: Evidence) -> None:
    events_verified(reviewer.get("/dashboard").get_data(as_text=True))
    rewrite_event(evidence.station, 2)
    reviewer.post("/lock")
    assert (
        reviewer.post("/unlock", {"passphrase": Station.PASSPHRASE, "actor": "web-tester"}).status_code == 303
    )
    page = reviewer.get("/dashboard").get_data(as_text=True)
    assert "custody log broken at event 2: its signature does not verify" in page
