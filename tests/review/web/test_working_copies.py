"""Working copies from an item's page: the CLI's `derive`, its item, link and custody event."""

import pytest

from tests.review.web.conftest import Browser, Evidence
from tests.support import media_samples as samples

STABLE = ("action", "object", "details")  # what a web and a CLI `derived` event share exactly


def derived_event(evidence: Evidence, item_id: int) -> dict[str, object]:
    (event,) = [e for e in evidence.station.events(f"item:{item_id}") if e["action"] == "derived"]
    return event


def test_a_stripped_copy_of_the_jpeg_is_a_new_item_shown_with_its_original(
    reviewer: Browser, evidence: Evidence
) -> None:
    original = evidence.ids["jpeg"]
    page = reviewer.get(f"/item/{original}").get_data(as_text=True)
    assert 'id="derive-form"' in page and 'name="clip"' not in page  # no clip of a picture
    before = evidence.station.ids()
    response = reviewer.post(f"/item/{original}/derive", {"strip_metadata": "yes"})
    assert response.status_code == 303
    (copy,) = set(evidence.station.ids()) - set(before)
    assert response.headers["Location"] == f"/item/{copy}"
    shown = evidence.station.show(copy)
    assert shown["derived_from"] == original and shown["identifying_metadata"] == []
    assert original in [row["id"] for row in evidence.station.items()]  # the original stays

    copy_page = reviewer.get(f"/item/{copy}").get_data(as_text=True)
    assert f"Working copy {copy} made from item {original} (strip-metadata)" in copy_page
    assert 'id="original"' in copy_page and f'href="/item/{original}"' in copy_page
    original_page = reviewer.get(f"/item/{original}").get_data(as_text=True)
    assert f'<a href="/item/{copy}">Item {copy}</a> (strip-metadata)' in original_page

    event = derived_event(evidence, copy)
    assert event["actor"] == "web-tester"
    assert event["details"] == {"from": original, "operation": "strip-metadata"}
    by_cli = int(evidence.station.ok("derive", original, "--strip-metadata").stdout.split()[2])
    cli_event = derived_event(evidence, by_cli)
    assert {k: cli_event[k] for k in STABLE} == {**{k: event[k] for k in STABLE}, "object": f"item:{by_cli}"}
    assert cli_event["hashes"].keys() == event["hashes"].keys()  # type: ignore[attr-defined]
    for name in ("original_envelope_sha256", "original_content_sha256"):
        assert cli_event["hashes"][name] == event["hashes"][name]  # type: ignore[index]
    evidence.station.verify()


@pytest.mark.skipif(not samples.have_ffmpeg(), reason="needs ffmpeg")
def test_a_clip_of_the_mp4(reviewer: Browser, evidence: Evidence) -> None:
    original = evidence.ids["mp4"]
    assert 'name="clip"' in reviewer.get(f"/item/{original}").get_data(as_text=True)
    response = reviewer.post(f"/item/{original}/derive", {"strip_metadata": "yes", "clip": "0-1"})
    assert response.status_code == 303
    copy = int(response.headers["Location"].rsplit("/", 1)[1])
    assert derived_event(evidence, copy)["details"] == {
        "from": original,
        "operation": "strip-metadata+clip",
        "clip_ms": [0, 1000],
    }
    evidence.station.verify()


@pytest.mark.parametrize(
    "label, form, reason",
    [
        ("html", {"strip_metadata": "yes"}, "no working copy of it"),
        ("jpeg", {}, "nothing to derive"),
        ("jpeg", {"clip": "0-1"}, "is an image: --clip is for video and audio"),
        ("jpeg", {"clip": "soon"}, "is not START-END"),
        ("jpeg", {"clip": "0:20-0:05"}, "ends before it starts"),
    ],
)
def test_what_cannot_be_derived_is_refused_and_nothing_is_made(
    reviewer: Browser, evidence: Evidence, label: str, form: dict[str, str], reason: str
) -> None:
    before = evidence.station.snapshot()
    response = reviewer.post(f"/item/{evidence.ids[label]}/derive", form)
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    evidence.station.assert_clean(before)


def test_the_html_file_and_a_message_offer_no_working_copy(reviewer: Browser, evidence: Evidence) -> None:
    assert 'id="derive-form"' not in reviewer.get(f"/item/{evidence.ids['html']}").get_data(as_text=True)
    assert 'id="working-copies"' not in reviewer.get(f"/item/{evidence.message}").get_data(as_text=True)


def test_deriving_needs_the_form_token_and_an_unlocked_station(browser: Browser, evidence: Evidence) -> None:
    before = evidence.station.snapshot()
    item = evidence.ids["jpeg"]
    assert browser.post(f"/item/{item}/derive", {"strip_metadata": "yes"}).status_code == 403  # locked
    browser.post("/unlock", {"passphrase": evidence.station.PASSPHRASE, "actor": "web-tester"})
    response = browser.post(f"/item/{item}/derive", {"strip_metadata": "yes"}, csrf=False)
    assert response.status_code == 400 and "The form expired" in response.get_data(as_text=True)
    evidence.station.assert_clean(before)
