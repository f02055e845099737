"""The custody log's checks in the browser: `custody verify` on a page, and its `--deep` on demand."""

import shutil

from tests.review.web.conftest import Browser, Evidence, Station


def envelope_of(evidence: Evidence, item_id: int) -> str:
    ((digest,),) = evidence.station.query("SELECT envelope_sha256 FROM items WHERE id = ?", (item_id,))
    return str(digest)


def test_the_checks_pass_on_an_untouched_station(reviewer: Browser, evidence: Evidence) -> None:
    assert 'href="/custody"' in reviewer.get("/dashboard").get_data(as_text=True)
    events = evidence.station.verify()
    page = reviewer.get("/custody").get_data(as_text=True)
    assert f"Custody log verified: {events} events." in page
    assert "The catalogue matches the custody log" in page and 'id="vault-state"' not in page
    deep = reviewer.post("/custody/deep")
    assert deep.status_code == 200
    assert "Vault verified: every envelope re-hashed, each as recorded." in deep.get_data(as_text=True)


def test_the_deep_check_names_a_swapped_vault_file(reviewer: Browser, evidence: Evidence) -> None:
    jpeg, pdf = evidence.ids["jpeg"], evidence.ids["pdf"]
    swapped = envelope_of(evidence, jpeg)
    vault = evidence.station.vault
    shutil.copyfile(vault / envelope_of(evidence, pdf)[:2] / f"{envelope_of(evidence, pdf)}.age",
                    vault / swapped[:2] / f"{swapped}.age")  # fmt: skip
    assert "The catalogue matches the custody log" in reviewer.get("/custody").get_data(as_text=True)
    page = reviewer.post("/custody/deep").get_data(as_text=True)
    assert 'id="differences"' in page and "Vault verified" not in page
    assert f"item {jpeg}: the vault file of its envelope {swapped} does not hash to that" in page


def test_the_check_names_each_edited_catalogue_row(reviewer: Browser, evidence: Evidence) -> None:
    jpeg, pdf = evidence.ids["jpeg"], evidence.ids["pdf"]
    con = evidence.station.db()
    with con:
        con.execute("UPDATE items SET region = 'Astana' WHERE id = ?", (jpeg,))
        con.execute("UPDATE items SET status = 'verified' WHERE id = ?", (pdf,))
    con.close()
    page = reviewer.get("/custody").get_data(as_text=True)
    assert "differs from the custody log in 2 places" in page
    assert f"item {jpeg}: region is &#39;Astana&#39; in the catalogue, None in the custody log" in page
    assert (
        f"item {pdf}: status is &#39;verified&#39; in the catalogue, &#39;new&#39; in the custody log" in page
    )


def test_a_broken_log_is_named_and_not_replayed(reviewer: Browser, evidence: Evidence) -> None:
    con = evidence.station.db()
    with con:
        con.execute("UPDATE custody_events SET hash = ? WHERE seq = 2", ("0" * 64,))
    con.close()
    page = reviewer.get("/custody").get_data(as_text=True)
    assert "The custody log does not verify:" in page and "custody log broken at event 2" in page
    assert 'id="catalogue-state"' not in page


def test_the_deep_check_needs_the_form_token_and_an_unlocked_station(browser: Browser) -> None:
    assert browser.post("/custody/deep").status_code == 403
    assert browser.get("/custody").status_code == 303  # to the unlock page
    browser.post("/unlock", {"passphrase": Station.PASSPHRASE, "actor": "web-tester"})
    response = browser.post("/custody/deep", csrf=False)
    assert response.status_code == 400 and "The form expired" in response.get_data(as_text=True)
