"""The incident taxonomy, tagging, status, notes, their custody events, and list filters."""

import json
import re

import pytest

from review.cli import cli as review_cli
from tests.support.catalogue import Evidence
from tests.support.station import ACTOR, assert_ok, assert_refused, invoke

# The issue's list, as stable codes: codes never change meaning once used, so they are pinned here.
REQUIRED = {
    "access": [
        "access.denied-entry",
        "access.removed",
        "access.view-restricted",
        "access.filming-banned",
        "access.observer-intimidated",
        "access.media-blocked",
    ],
    "opening": ["opening.box-not-shown-empty", "opening.ballots-not-counted", "opening.commission-improper"],
    "ballot": [
        "ballot.stuffing",
        "ballot.carousel",
        "ballot.multiple-issued",
        "ballot.multiple-voting",
        "ballot.impersonation",
        "ballot.group-voting",
        "ballot.voter-list",
        "ballot.mobile-box",
    ],
    "coercion": [
        "coercion.vote-buying",
        "coercion.organised-voting",
        "coercion.intimidation",
        "coercion.ballot-photo",
        "coercion.campaigning",
    ],
    "secrecy": ["secrecy.violated"],
    "count": [
        "count.procedure-skipped",
        "count.protocol-falsified",
        "count.protocol-presigned",
        "count.copy-refused",
        "count.differs",
        "count.transport-tampering",
    ],
    "post": ["post.reprisals", "post.complaints-rejected"],
    "other": ["other.other"],
}
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def taxonomy_json() -> list[dict]:
    return json.loads(assert_ok(invoke(review_cli, ["taxonomy", "--json"])).stdout)


def test_taxonomy_json_holds_every_group_and_incident_of_the_issue() -> None:
    groups = taxonomy_json()
    by_group = {g["code"]: [i["code"] for i in g["incidents"]] for g in groups}
    assert set(REQUIRED) <= set(by_group)
    for group, codes in REQUIRED.items():
        missing = set(codes) - set(by_group[group])
        assert not missing, f"{group} lacks {missing}"


def test_taxonomy_codes_are_unique_two_level_and_named_in_three_languages() -> None:
    groups = taxonomy_json()
    codes = [i["code"] for g in groups for i in g["incidents"]]
    assert len(codes) == len(set(codes)), "incident codes must be unique"
    assert len({g["code"] for g in groups}) == len(groups), "group codes must be unique"
    for group in groups:
        assert re.fullmatch(r"[a-z]+", group["code"]), group["code"]
        for entry in (group, *group["incidents"]):
            names = entry["names"]
            assert set(names) >= {"en", "ru", "kk"}, entry["code"]
            assert all(isinstance(names[lang], str) and names[lang].strip() for lang in ("en", "ru", "kk"))
            assert not CYRILLIC.search(names["en"]), names["en"]
            assert CYRILLIC.search(names["ru"]) and CYRILLIC.search(names["kk"]), entry["code"]
        for incident in group["incidents"]:
            assert re.fullmatch(rf"{group['code']}\.[a-z][a-z0-9-]*[a-z0-9]", incident["code"]), incident[
                "code"
            ]


def test_taxonomy_text_lists_each_code_once_with_its_name_in_the_chosen_language() -> None:
    groups = taxonomy_json()
    english = assert_ok(invoke(review_cli, ["taxonomy"])).stdout
    russian = assert_ok(invoke(review_cli, ["taxonomy", "--language", "ru"])).stdout
    kazakh = assert_ok(invoke(review_cli, ["taxonomy", "--language", "kk"])).stdout
    for group in groups:
        assert f"{group['code']}: {group['names']['en']}" in english.splitlines()
        for incident in group["incidents"]:
            for output, lang in ((english, "en"), (russian, "ru"), (kazakh, "kk")):
                (line,) = [ln for ln in output.splitlines() if ln.split()[0] == incident["code"]]
                assert line.endswith(incident["names"][lang]), line
    assert "Вброс бюллетеней" in russian and "Ballot stuffing" not in russian
    refused = invoke(review_cli, ["taxonomy", "--language", "de"])
    assert refused.exit_code == 2


# --- tagging and its refusals ---------------------------------------------------------------------


def test_misspelled_incident_is_refused_with_the_nearest_codes(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    events = station.verify()
    line = station.refused("tag", item, "--incident", "ballot.stufing", needles=["ballot.stufing"])
    assert "unknown incident code" in line and "ballot.stuffing" in line
    line = station.refused("tag", item, "--incident", "count.protocol-falsifed")
    assert "count.protocol-falsified" in line
    line = station.refused("tag", item, "--incident", "vote-buying")
    assert "coercion.vote-buying" in line
    # Nothing changed, and nothing was logged.
    assert station.show(item)["incidents"] == []
    assert station.verify() == events


def test_a_refused_code_refuses_the_whole_tag_command(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    events = station.verify()
    station.refused(
        "tag", item, "--incident", "ballot.stuffing", "--incident", "nonsense.code", "--region", "Almaty"
    )
    shown = station.show(item)
    assert shown["incidents"] == [] and shown["region"] is None
    assert station.verify() == events


@pytest.mark.parametrize(
    ("when", "needle"),
    [
        ("2024-03-17T14:02", "UTC offset"),
        ("2024-03-17", "UTC offset"),
        ("yesterday evening", "ISO 8601"),
        ("2024-02-30T10:00+05:00", "ISO 8601"),
    ],
)
def test_when_without_an_offset_or_not_a_date_is_refused(catalogue: Evidence, when: str, needle: str) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    events = station.verify()
    station.refused("tag", item, "--incident", "ballot.stuffing", "--when", when, needles=[needle])
    assert station.show(item)["when"] is None and station.show(item)["incidents"] == []
    assert station.verify() == events


def test_other_tag_refusals(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    station.refused("tag", item, needles=["nothing to tag"])
    station.refused("tag", item, "--tag", "two words", needles=["one word"])
    station.refused("tag", 9999, "--incident", "ballot.stuffing", needles=["no item 9999"])
    station.refused("list", "--incident", "ballot.stufing", needles=["ballot.stuffing"])


def test_tag_status_and_note_each_add_one_custody_event(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["video" if catalogue.has_video else "plain"]
    before_actions = station.custody_actions(item)
    assert before_actions == ["imported"]
    count = station.verify()

    station.ok(
        "tag", item,
        "--incident", "ballot.stuffing", "--incident", "count.protocol-falsified",
        "--polling-station", "112", "--region", "Almaty", "--settlement", "Almaty",
        "--when", "2024-03-17T14:02+05:00", "--tag", "night", "--tag", "night-shift",
    )  # fmt: skip
    assert station.custody_actions(item) == ["imported", "tagged"]
    assert station.verify() == count + 1
    shown = station.show(item)
    assert shown["incidents"] == ["ballot.stuffing", "count.protocol-falsified"]
    assert (shown["polling_station"], shown["region"], shown["settlement"]) == ("112", "Almaty", "Almaty")
    assert shown["when"] == "2024-03-17T14:02:00+05:00"
    assert shown["tags"] == ["night", "night-shift"]

    station.ok("status", item, "triaged")
    station.ok("status", item, "verified")
    assert station.custody_actions(item) == ["imported", "tagged", "status", "status"]
    assert station.show(item)["status"] == "verified"

    station.ok("note", item, "--text", "Matches the protocol photo of PS 112")
    assert station.custody_actions(item) == ["imported", "tagged", "status", "status", "noted"]
    assert station.show(item)["notes"][-1].endswith(f"{ACTOR}: Matches the protocol photo of PS 112")
    assert station.verify() == count + 4

    tagged, first, second, noted = station.events(f"item:{item}")[1:]
    assert tagged["action"] == "tagged" and tagged["actor"] == ACTOR
    assert tagged["details"]["incidents"] == ["ballot.stuffing", "count.protocol-falsified"]
    assert tagged["details"]["polling_station"] == "112"
    assert tagged["details"]["when"] == "2024-03-17T14:02:00+05:00"
    assert (
        tagged["hashes"]["content_sha256"]
        == catalogue.uploads["video" if catalogue.has_video else "plain"].sha256
    )
    assert (first["details"], second["details"]) == (
        {"from": "new", "to": "triaged"},
        {"from": "triaged", "to": "verified"},
    )
    assert noted["action"] == "noted" and "Matches" not in json.dumps(noted), (
        "the note text stays out of the log"
    )


def test_status_refuses_unknown_values_and_unknown_items(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    count = station.verify()
    assert station.run("status", item, "approved").exit_code == 2
    assert station.run("status", item, "undecryptable").exit_code == 2, (
        "quarantine is not a reviewer's status"
    )
    station.refused("status", 9999, "verified", needles=["no item 9999"])
    station.refused("note", item, "--text", "   ", needles=["empty"])
    assert station.verify() == count
    assert station.show(item)["status"] == "new"


@pytest.mark.filterwarnings("ignore:'get_text_stream' is deprecated:DeprecationWarning")
def test_note_text_from_stdin(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    station.ok("note", item, stdin="Seen from the observers' bench\nat 14:02\n")
    assert station.custody_actions(item)[-1] == "noted"
    assert station.show(item)["notes"][-1].endswith("Seen from the observers' bench\nat 14:02")


def test_note_text_from_stdin_without_deprecated_click_api(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    station.ok("note", item, stdin="Seen from the observers' bench\n")
    assert station.custody_actions(item)[-1] == "noted"


# --- filters --------------------------------------------------------------------------------------


def test_list_filters_return_exactly_the_right_items(catalogue: Evidence) -> None:
    station = catalogue.station
    a, b, c, d = (catalogue.ids[k] for k in ("exif", "plain", "near", "shell-jpg"))
    station.ok("tag", a, "--incident", "ballot.stuffing", "--region", "Almaty", "--polling-station", "112")
    station.ok(
        "tag", b, "--incident", "ballot.stuffing", "--incident", "count.protocol-falsified",
        "--region", "Almaty", "--polling-station", "113",
    )  # fmt: skip
    station.ok(
        "tag", c, "--incident", "access.denied-entry", "--region", "Astana", "--polling-station", "112"
    )
    station.ok("tag", d, "--region", "Almaty City")
    station.ok("status", a, "verified")
    station.ok("status", b, "triaged")
    everything = station.ids()

    assert station.ids("--incident", "ballot.stuffing") == sorted([a, b])
    assert station.ids("--incident", "count.protocol-falsified") == [b]
    assert station.ids("--incident", "access.denied-entry") == [c]
    assert station.ids("--incident", "post.reprisals") == []
    assert station.ids("--region", "Almaty") == sorted([a, b]), "a region matches exactly, not by prefix"
    assert station.ids("--region", "Astana") == [c]
    assert station.ids("--polling-station", "112") == sorted([a, c])
    assert station.ids("--polling-station", "11") == []
    assert station.ids("--status", "verified") == [a]
    assert station.ids("--status", "triaged") == [b]
    assert station.ids("--status", "new") == sorted(set(everything) - {a, b})
    assert station.ids("--incident", "ballot.stuffing", "--polling-station", "112") == [a]
    assert station.ids("--region", "Almaty", "--status", "triaged") == [b]
    assert station.ids("--incident", "ballot.stuffing", "--region", "Astana") == []
    rows = station.items("--incident", "ballot.stuffing")
    assert {r["id"]: r["incidents"] for r in rows} == {
        a: ["ballot.stuffing"],
        b: ["ballot.stuffing", "count.protocol-falsified"],
    }
    # The plain listing filters the same way.
    text = station.ok("list", "--polling-station", "112").stdout
    assert sorted(int(line.split()[0]) for line in text.splitlines()) == sorted([a, c])


def test_tagging_again_adds_incidents_and_keeps_earlier_ones(catalogue: Evidence) -> None:
    station, item = catalogue.station, catalogue.ids["plain"]
    station.ok(
        "tag", item, "--incident", "ballot.carousel", "--polling-station", "7", "--tag", "x", "--tag", "x"
    )
    assert station.show(item)["tags"] == ["x"]
    station.ok("tag", item, "--incident", "ballot.carousel", "--incident", "coercion.vote-buying")
    station.ok("tag", item, "--polling-station", "8")
    shown = station.show(item)
    assert shown["incidents"] == ["ballot.carousel", "coercion.vote-buying"]
    assert shown["polling_station"] == "8"
    assert station.ids("--polling-station", "7") == []
    assert station.custody_actions(item) == ["imported", "tagged", "tagged", "tagged"]


def test_taxonomy_needs_no_station() -> None:
    assert (
        "ballot.stuffing" in assert_ok(invoke(review_cli, ["taxonomy"], env={"TAMGA_STATION": None})).stdout
    )
    assert_refused(invoke(review_cli, ["list"], env={"TAMGA_STATION": None}), "no station", ignore_case=False)
