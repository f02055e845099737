"""Working copies in evidence packages: asked for by flag or by id, verified like originals."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crypto.signing import SigningKey
from review.station import Station as ReviewStation
from tests.review.test_package import manifest_of, members, verify_package
from tests.review.test_package_damage import read, resigned, write
from tests.support import media_samples as samples
from tests.support.bundles import sha256
from tests.support.intake import stocked_station
from tests.support.station import PASSPHRASE, Station, assert_ok, assert_refused
from tests.support.worker import this_trees_worker

PHOTO = samples.plain_jpeg(21)
SCAN = b"%PDF-1.4 the protocol of PS 7\n" * 100


@dataclass(frozen=True)
class Case:
    station: Station
    photo: int
    scan: int
    copy: int
    signing: SigningKey


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Iterator[Case]:
    """A photo, a scan, and a working copy of the photo."""
    tmp = tmp_path_factory.mktemp("package-derivatives")
    files = [(PHOTO, "photo.jpg", "image/jpeg"), (SCAN, "scan.pdf", "application/pdf")]
    station = stocked_station(station_template, tmp, ("", files))
    found = {item["sha256"]: item["id"] for item in station.items()}
    with this_trees_worker(tmp):
        made = station.ok("derive", found[sha256(PHOTO)], "--strip-metadata").stdout
    signing = ReviewStation(station.root).unlock(lambda: PASSPHRASE).signing
    yield Case(station, found[sha256(PHOTO)], found[sha256(SCAN)], int(made.split()[2]), signing)


def entries(package: Path) -> dict[int, dict[str, Any]]:
    return {entry["id"]: entry for entry in manifest_of(package)["items"]}


def test_with_derivatives_packages_the_copy_beside_its_original(tmp_path: Path, case: Case) -> None:
    out = tmp_path / "package.tar"
    case.station.ok("package", case.photo, case.scan, "--with-derivatives", "--out", out)
    found = entries(out)
    assert sorted(found) == sorted([case.photo, case.scan, case.copy])
    assert found[case.copy]["derived_from"] == case.photo
    assert found[case.photo]["derived_from"] is None
    copy = next(item for item in case.station.items() if item["id"] == case.copy)
    assert members(out)[found[case.copy]["file"]] == extracted(tmp_path, case, case.copy)
    assert sha256(members(out)[found[case.copy]["file"]]) == copy["sha256"]
    assert members(out)[found[case.photo]["file"]] == PHOTO
    report = assert_ok(verify_package(out)).stdout
    assert f"item {case.copy}: " in report and copy["sha256"] in report
    assert f"item {case.photo}: " in report and sha256(PHOTO) in report


def extracted(tmp_path: Path, case: Case, item_id: int) -> bytes:
    out = tmp_path / f"extracted-{item_id}"
    case.station.ok("extract", item_id, "--out", out)
    return out.read_bytes()


def test_without_the_flag_only_the_items_asked_for(tmp_path: Path, case: Case) -> None:
    out = tmp_path / "package.tar"
    case.station.ok("package", case.photo, "--out", out)
    assert sorted(entries(out)) == [case.photo]


def test_a_copy_asked_for_by_id_verifies_without_its_original(tmp_path: Path, case: Case) -> None:
    out = tmp_path / "package.tar"
    case.station.ok("package", case.copy, "--out", out)
    assert entries(out)[case.copy]["derived_from"] == case.photo
    assert_ok(verify_package(out))


def test_a_copy_passed_off_as_made_from_another_item_is_refused(tmp_path: Path, case: Case) -> None:
    """Re-signed with the station's own key: only the signed `derived` record can say what it came from."""
    out = tmp_path / "package.tar"
    case.station.ok("package", case.photo, case.scan, "--with-derivatives", "--out", out)
    for claimed in (case.scan, None):
        listed = read(out.read_bytes())
        manifest = json.loads(dict(listed)["manifest.json"])
        next(e for e in manifest["items"] if e["id"] == case.copy)["derived_from"] = claimed
        text = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
        damaged = tmp_path / "damaged.tar"
        damaged.write_bytes(
            write(resigned([(n, text if n == "manifest.json" else d) for n, d in listed], case.signing))
        )
        assert_refused(
            verify_package(damaged),
            f"item {case.copy}: its signed records do not say which item it was made from",
        )
