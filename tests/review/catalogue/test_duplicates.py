"""Duplicates: equal content is linked automatically; look-alike images are only suggested."""

import re
from pathlib import Path

from tests.support import media_samples as samples
from tests.support.catalogue import Evidence, Upload, import_submissions


def near(shown: dict) -> dict[int, int]:
    """`show`'s near-duplicate suggestions as {item id: distance}."""
    found = {}
    for text in shown["near_duplicates"]:
        match = re.fullmatch(r"item (\d+) \(distance (\d+)\)", text)
        assert match, text
        found[int(match.group(1))] = int(match.group(2))
    return found


def test_the_same_bytes_uploaded_twice_are_linked_to_the_first_item(evidence: Evidence) -> None:
    one, two = sorted((evidence.ids["exif"], evidence.ids["exif-again"]))
    first, second = evidence.station.show(one), evidence.station.show(two)
    assert first["sha256"] == second["sha256"] == evidence.uploads["exif"].sha256
    assert first["duplicate_of"] is None
    assert second["duplicate_of"] == one
    assert second["status"] == "new", "linking does not decide for the reviewer"
    linked = {r["id"] for r in evidence.station.items() if r["duplicate_of"] is not None}
    assert linked == {two}, "only equal contents are linked"


def test_a_resized_recompressed_copy_is_suggested_not_linked(evidence: Evidence) -> None:
    original, copy = evidence.ids["exif"], evidence.ids["near"]
    assert evidence.uploads["near"].sha256 != evidence.uploads["exif"].sha256
    shown = evidence.station.show(copy)
    assert shown["duplicate_of"] is None
    suggested = near(shown)
    assert original in suggested and suggested[original] <= 8
    assert copy in near(evidence.station.show(original))
    # A different picture is not suggested, in either direction.
    other = evidence.ids["plain"]
    assert other not in suggested
    assert original not in near(evidence.station.show(other))
    assert copy not in near(evidence.station.show(other))


def test_items_without_a_perceptual_hash_get_no_suggestions(evidence: Evidence) -> None:
    for label in ("bomb", "bomb-warning") + (("video", "video-truncated") if evidence.has_video else ()):
        assert evidence.item(label)["near_duplicates"] == [], label


def test_a_duplicate_arriving_in_a_later_bundle_is_linked_to_the_first(
    catalogue: Evidence, tmp_path: Path
) -> None:
    station = catalogue.station
    first = min(catalogue.ids["exif"], catalogue.ids["exif-again"])
    before = set(station.ids())
    again = Upload("again", catalogue.uploads["exif"].content, "forwarded.jpg", "image/jpeg")
    fresh = Upload("fresh", samples.plain_jpeg(seed=21), "new.jpg", "image/jpeg")
    import_submissions(station, tmp_path, [("", [again, fresh])])
    rows = {r["id"]: r for r in station.items() if r["id"] not in before}
    by_name = {r["name"]: r for r in rows.values()}
    assert by_name["forwarded.jpg"]["duplicate_of"] == first
    assert by_name["new.jpg"]["duplicate_of"] is None
