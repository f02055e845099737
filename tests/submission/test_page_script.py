"""The submit page's one script, as the server serves it: our own file, named with the integrity
hash of the very bytes served, `defer`, no inline script; a CSP that allows only it; and the
committed file is exactly what its sources build (Makefile `static`)."""

import base64
import hashlib
import re
import shlex
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from submission import page_script
from tests.support.forms import new_source

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "submission" / "static" / "intake.js"
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"
ENTRY = "submission/static/src/intake.js"


class _Scripts(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_the_submit_page_loads_only_our_script_pinned_by_its_hash(client: FlaskClient) -> None:
    new_source(client)
    page = _Scripts(client.get("/submit").get_data(as_text=True))
    assert page.inline == []
    [script] = page.scripts
    assert script["src"] == "/static/intake.js"
    assert "defer" in script
    with client.get("/static/intake.js") as served:
        assert served.status_code == 200
        assert served.mimetype == "text/javascript"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert script["integrity"] == sha384(served.get_data()) == sha384(BUILT.read_bytes())


def test_pages_without_the_submit_form_load_no_script(client: FlaskClient) -> None:
    for path in ("/", "/login", "/logged-out"):
        assert _Scripts(client.get(path).get_data(as_text=True)).scripts == [], path


def test_the_csp_allows_our_own_script_and_connections_only(client: FlaskClient) -> None:
    csp = client.get("/").headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert "unsafe" not in csp and "wasm" not in csp and "*" not in csp


def test_integrity_is_none_without_the_built_file(tmp_path: Path) -> None:
    assert page_script.integrity(tmp_path / "intake.js") is None
    (tmp_path / "intake.js").write_bytes(b"x")
    assert page_script.integrity(tmp_path / "intake.js") == sha384(b"x")


def _esbuild_flags() -> list[str]:
    makefile = (REPO / "Makefile").read_text()
    match = re.search(r"^ESBUILD_FLAGS := (.*)$", makefile, re.M)
    assert match, "the Makefile names ESBUILD_FLAGS"
    return shlex.split(match.group(1))


@pytest.mark.skipif(not ESBUILD.exists(), reason="esbuild is not installed: run `npm ci` (make test does)")
def test_the_committed_script_is_what_its_sources_build(tmp_path: Path) -> None:
    out = tmp_path / "intake.js"
    subprocess.run(
        [str(ESBUILD), ENTRY, *_esbuild_flags(), "--log-level=warning", f"--outfile={out}"],
        cwd=REPO,
        check=True,
        timeout=120,
    )
    assert out.read_bytes() == BUILT.read_bytes(), "run `make static` and commit submission/static/intake.js"


def test_the_script_needs_no_eval() -> None:
    code = BUILT.read_text()
    assert "eval(" not in code
    assert not re.search(r"\bnew Function\b|\bFunction\(", code)  # the browser test runs it under the CSP


class _Panel(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__()
        self.data: dict[str, str | None] = {}
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if "upload-panel" in (dict(attrs).get("class") or "").split():
            self.data = {name: value for name, value in attrs if name.startswith("data-")}


@pytest.mark.parametrize(
    ("lang", "retrying"),
    [
        ("ru", "Связь потеряна, пробуем снова…"),
        ("kk", "Байланыс үзілді, қайта әрекет жасалуда…"),
        ("en", "Connection lost, retrying…"),
    ],
)
def test_the_scripts_sentences_come_translated_with_their_placeholders(
    client: FlaskClient, lang: str, retrying: str
) -> None:
    client.get(f"/language/{lang}")
    new_source(client)
    panel = _Panel(client.get("/submit").get_data(as_text=True)).data
    assert panel["data-retrying"] == retrying
    assert {"{sent}", "{total}", "{rate}", "{left}"} <= set(
        re.findall(r"\{\w+\}", panel["data-total-progress"] or "")
    )
    assert {"{sent}", "{total}"} <= set(re.findall(r"\{\w+\}", panel["data-item-progress"] or ""))
    assert all(panel[name] for name in ("data-message-label", "data-committing", "data-failed"))
