"""Headless Chromium, JavaScript off, on a served station: derive -> package -> verify-package, then
the deep custody check. Screenshots go to test-artifacts/station-evidence-*.png."""

import tarfile
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from review import package_verify
from tests.review.web.conftest import Evidence
from tests.review.web.test_browser_session import (  # noqa: F401 (fixtures)
    drivers,
    here,
    session_station,
    session_url,
    shot,
    unlock,
)
from tests.support import browser as support

pytestmark = pytest.mark.browser


def test_derive_package_and_verify_without_javascript(
    session_station: Evidence,  # noqa: F811
    session_url: str,  # noqa: F811
    drivers: list[WebDriver],  # noqa: F811
    tmp_path: Path,
) -> None:
    evidence, base = session_station, session_url.split("/?")[0]
    driver = support.chromium(tmp_path / "profile")
    drivers.append(driver)
    support.assert_javascript_is_off(driver)
    unlock(driver, session_url)

    jpeg, pdf = evidence.ids["jpeg"], evidence.ids["pdf"]
    driver.get(f"{base}/item/{jpeg}")
    support.wait_for_page(driver, f"/item/{jpeg}", "#derive-form")
    assert driver.find_element(By.ID, "strip-metadata").is_selected()
    shot(driver, "evidence-derive-form")
    driver.find_element(By.ID, "derive").click()
    support.wait_for_page(driver, None, "#original")
    copy = int(here(driver).rsplit("/", 1)[1])
    assert (
        f"Working copy {copy} made from item {jpeg}" in driver.find_element(By.CSS_SELECTOR, ".notice").text
    )
    assert "identifying" not in [e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "p")]
    shot(driver, "evidence-copy")

    driver.find_element(By.ID, "add-to-package").click()
    support.wait_for_page(driver, f"/package?item={copy}", "#package-form")
    driver.find_element(By.ID, "more").send_keys(str(pdf))
    out = tmp_path / "case-12.tar"
    driver.find_element(By.ID, "package-path").send_keys(str(out))
    shot(driver, "evidence-package-form")
    driver.find_element(By.ID, "write-package").click()
    support.wait_for_page(driver, "/package", "#package-sha256", timeout=60)
    shot(driver, "evidence-package-written")
    assert driver.find_element(By.ID, "package-written-path").text == str(out)
    with tarfile.open(out) as archive:
        assert "manifest.json" in archive.getnames() and "SHA256SUMS.sig" in archive.getnames()

    driver.find_element(By.ID, "verify-written").click()
    support.wait_for_page(driver, "/verify-package", "#verified", timeout=60)
    shot(driver, "evidence-package-verified")
    checks = driver.find_element(By.ID, "checks").text
    assert "good SSHSIG signature" in checks and "this station's own signing key" in checks
    items = driver.find_element(By.ID, "package-items").text
    assert str(copy) in items and str(pdf) in items
    key = package_verify.parse_key(evidence.station.signing_key())
    assert [e["id"] for e in package_verify.verify_package(out, key).items] == [copy, pdf]

    damaged = tmp_path / "damaged.tar"
    data = bytearray(out.read_bytes())
    data[512 + 100] ^= 0x01
    damaged.write_bytes(bytes(data))
    driver.find_element(By.LINK_TEXT, "Verify a package").click()
    support.wait_for_page(driver, "/verify-package", "#verify-file")
    driver.find_element(By.ID, "verify-file").send_keys(str(damaged))
    driver.find_element(By.ID, "verify-upload").click()
    support.wait_for_page(driver, "/verify-package/upload", "main h1", timeout=60)
    shot(driver, "evidence-package-refused")
    assert driver.find_element(By.CSS_SELECTOR, "main h1").text == "This package does not verify"

    driver.find_element(By.LINK_TEXT, "Custody").click()
    support.wait_for_page(driver, "/custody", "#catalogue-state")
    driver.find_element(By.ID, "deep-check").click()
    support.wait_for_page(driver, "/custody/deep", "#vault-state", timeout=60)
    shot(driver, "evidence-deep-check")
    actions = [e["action"] for e in evidence.station.events(f"item:{copy}")]
    assert actions == ["derived", "packaged"]
