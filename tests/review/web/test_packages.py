"""Evidence packages from the browser: written as `package` writes them, checked as `verify-package`."""

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from review import package_verify
from tests.review.web.conftest import Browser, Evidence
from tests.support.station import Station


def items_of(package: Path) -> list[dict[str, object]]:
    with tarfile.open(package) as archive:
        member = archive.extractfile("manifest.json")
        assert member is not None
        return list(json.load(member)["items"])


def write(reviewer: Browser, evidence: Evidence, out: Path, *labels: str, **form: str) -> object:
    return reviewer.post(
        "/package", {"item": [str(evidence.ids[label]) for label in labels], "path": str(out), **form}
    )


def test_a_package_from_the_browser_is_the_commands_and_verifies(
    reviewer: Browser, evidence: Evidence, tmp_path: Path
) -> None:
    pdf, html = evidence.ids["pdf"], evidence.ids["html"]
    submission = evidence.station.show(pdf)["submission"]
    chooser = reviewer.get(f"/package?submission={submission}").get_data(as_text=True)
    assert (
        f'name="item" value="{pdf}" checked' in chooser and f'name="item" value="{html}" checked' in chooser
    )
    out = tmp_path / "case.tar"
    response = reviewer.post("/package", {"item": [str(pdf)], "more": str(html), "path": str(out)})
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert str(out) in page and digest in page and f"{out.stat().st_size} bytes" in page
    checked = package_verify.verify_package(out, package_verify.parse_key(evidence.station.signing_key()))
    assert [entry["id"] for entry in checked.items] == [pdf, html]
    for item_id in (pdf, html):
        (event,) = [e for e in evidence.station.events(f"item:{item_id}") if e["action"] == "packaged"]
        assert event["actor"] == "web-tester" and event["hashes"]["package_sha256"] == digest
    by_cli = tmp_path / "cli.tar"
    evidence.station.ok("package", pdf, html, "--out", by_cli)
    assert items_of(by_cli) == items_of(out)  # the same defaults: no messages, nothing identifying
    evidence.station.verify()


def test_ticked_options_reach_the_package(reviewer: Browser, evidence: Evidence, tmp_path: Path) -> None:
    jpeg = evidence.ids["jpeg"]
    assert reviewer.post(f"/item/{jpeg}/derive", {"strip_metadata": "yes"}).status_code == 303
    out = tmp_path / "with-copies.tar"
    form = {"with_derivatives": "yes", "include_identifying": "yes"}
    response = write(reviewer, evidence, out, "jpeg", **form)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "could identify sources" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    entries = items_of(out)
    assert entries[0]["id"] == jpeg and entries[0]["name"] == "IMG_2024.JPG"
    assert entries[1]["derived_from"] == jpeg


@pytest.mark.parametrize(
    "labels, path, reason",
    [
        (("jpeg",), "case.tar", "carries identifying metadata"),
        ((), "case.tar", "choose at least one item"),
        (("pdf",), "", "give a path on the station"),
        (("pdf",), "no-such-directory/case.tar", "No such file or directory"),
    ],
)
def test_a_package_that_cannot_be_written_is_refused(
    reviewer: Browser, evidence: Evidence, tmp_path: Path, labels: tuple[str, ...], path: str, reason: str
) -> None:
    before = evidence.station.snapshot()
    response = reviewer.post(
        "/package",
        {
            "item": [str(evidence.ids[label]) for label in labels],
            "path": str(tmp_path / path) if path else " ",
        },
    )
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    assert not (tmp_path / "case.tar").exists()
    evidence.station.assert_clean(before)


def test_an_existing_path_is_never_overwritten(reviewer: Browser, evidence: Evidence, tmp_path: Path) -> None:
    out = tmp_path / "kept.tar"
    out.write_bytes(b"someone else's file")
    before = evidence.station.snapshot()
    response = write(reviewer, evidence, out, "pdf")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "already exists: refusing to overwrite it" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert out.read_bytes() == b"someone else's file"
    evidence.station.assert_clean(before)


@pytest.mark.parametrize("typed", ["3 seven", "3 \u00b2", "-3"])
def test_an_item_number_must_be_a_number(
    reviewer: Browser, evidence: Evidence, tmp_path: Path, typed: str
) -> None:
    response = reviewer.post("/package", {"more": typed, "path": str(tmp_path / "p.tar")})
    assert response.status_code == 400
    assert "is not an item number" in response.get_data(as_text=True)
    assert not (tmp_path / "p.tar").exists()


def test_packaging_needs_the_form_token_and_an_unlocked_station(
    browser: Browser, evidence: Evidence, tmp_path: Path
) -> None:
    out = tmp_path / "case.tar"
    assert write(browser, evidence, out, "pdf").status_code == 403  # type: ignore[attr-defined]
    browser.post("/unlock", {"passphrase": Station.PASSPHRASE, "actor": "web-tester"})
    form = {"item": [str(evidence.ids["pdf"])], "path": str(out)}
    assert browser.post("/package", form, csrf=False).status_code == 400
    assert browser.post("/verify-package", {"path": str(out)}, csrf=False).status_code == 400
    assert not out.exists()


@pytest.fixture
def package(reviewer: Browser, evidence: Evidence, tmp_path: Path) -> Path:
    out = tmp_path / "case.tar"
    assert write(reviewer, evidence, out, "pdf", "html").status_code == 200  # type: ignore[attr-defined]
    return out


def test_verify_a_package_by_path(reviewer: Browser, evidence: Evidence, package: Path) -> None:
    form = reviewer.get("/verify-package").get_data(as_text=True)
    key = evidence.station.signing_key()
    assert key in form  # this station's key is filled in
    response = reviewer.post("/verify-package", {"path": str(package), "key": key})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Package verified" in page and 'id="station-key"' in page and "key-from-package" not in page
    assert "good SSHSIG signature over SHA256SUMS, namespace tamga-evidence" in page
    assert "each matches SHA256SUMS, none missing, none added" in page
    assert f"<td>{evidence.ids['pdf']}</td>" in page and f"<td>{evidence.ids['html']}</td>" in page
    assert hashlib.sha256(package.read_bytes()).hexdigest() in page


def test_without_a_key_the_packages_own_is_used_and_said(reviewer: Browser, package: Path) -> None:
    page = reviewer.post("/verify-package", {"path": str(package), "key": ""}).get_data(as_text=True)
    assert "Package verified" in page and 'id="key-from-package"' in page


def test_verify_an_uploaded_package_streamed_to_the_station(
    reviewer: Browser, evidence: Evidence, package: Path
) -> None:
    with open(package, "rb") as upload:
        response = reviewer.post(
            "/verify-package/upload",
            {"package": (upload, "case.tar"), "key": evidence.station.signing_key()},
            content_type="multipart/form-data",
        )
    assert response.status_code == 200 and "Package verified" in response.get_data(as_text=True)
    assert list((evidence.station.root / "incoming").iterdir()) == []  # removed after the check


def flip_a_byte_of_the_first_member(package: Path) -> None:
    data = bytearray(package.read_bytes())
    data[512 + 10] ^= 0x01  # inside the first original, after its tar header
    package.write_bytes(bytes(data))


def test_a_tampered_package_is_refused_with_its_reason(
    reviewer: Browser, evidence: Evidence, package: Path
) -> None:
    flip_a_byte_of_the_first_member(package)
    response = reviewer.post("/verify-package", {"path": str(package), "key": evidence.station.signing_key()})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This package does not verify" in page and "SHA256SUMS" in page and "Package verified" not in page
    with open(package, "rb") as upload:
        response = reviewer.post(
            "/verify-package/upload", {"package": (upload, "case.tar")}, content_type="multipart/form-data"
        )
    assert response.status_code == 400 and "This package does not verify" in response.get_data(as_text=True)
    assert list((evidence.station.root / "incoming").iterdir()) == []


def test_a_package_checked_against_another_stations_key_is_refused(
    reviewer: Browser, package: Path, other_station_template: Station
) -> None:
    response = reviewer.post(
        "/verify-package", {"path": str(package), "key": other_station_template.signing_key()}
    )
    assert response.status_code == 400
    assert "This package does not verify" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path, reason", [("missing.tar", "No such file or directory"), ("", "give a path on the station")]
)
def test_verify_refuses_a_bad_path(reviewer: Browser, tmp_path: Path, path: str, reason: str) -> None:
    response = reviewer.post("/verify-package", {"path": str(tmp_path / path) if path else ""})
    assert response.status_code == 400 and reason in response.get_data(as_text=True)


def test_an_upload_without_a_file_is_refused(reviewer: Browser, evidence: Evidence) -> None:
    response = reviewer.post("/verify-package/upload", {}, content_type="multipart/form-data")
    assert response.status_code == 400 and "choose a package file" in response.get_data(as_text=True)


def test_every_staged_part_of_an_upload_is_removed(
    reviewer: Browser, evidence: Evidence, package: Path
) -> None:
    with open(package, "rb") as upload, open(package, "rb") as extra:
        response = reviewer.post(
            "/verify-package/upload",
            {"package": (upload, "case.tar"), "other": (extra, "other.tar")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 200
    assert list((evidence.station.root / "incoming").iterdir()) == []


@pytest.mark.parametrize(
    "lang, heading", [("ru", "Записать комплект доказательств"), ("kk", "Дәлелдер топтамасын жазу")]
)
def test_the_package_page_is_in_the_chosen_language(
    reviewer: Browser, evidence: Evidence, lang: str, heading: str
) -> None:
    reviewer.get(f"/language/{lang}?next=/")
    page = reviewer.get(f"/package?item={evidence.ids['pdf']}").get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in page and "Write the package" not in page
