"""Round trips with typage (npm age-encryption, installed by `npm ci`), both directions, both key kinds."""

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

import crypto

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("typage.mjs")
CHUNK = 64 * 1024
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 1024 * 1024 + 3]
KINDS = ["x25519", "hybrid"]
TIMEOUT = 60.0
_INSTALLED = (REPO / "node_modules" / "age-encryption" / "package.json").is_file()

# `make test` runs `npm ci` first, and CI runs `make test`: there a missing typage is a failure.
pytestmark = pytest.mark.skipif(
    not _INSTALLED and not os.environ.get("CI"),
    reason="typage is not installed: run `npm ci` in the repository (make test does)",
)


def _node(*args: str, stdin: bytes = b"", identity: str | None = None) -> bytes:
    node = shutil.which("node")
    assert node, "node is missing: make test installs nodejs"
    env = {k: v for k, v in os.environ.items() if k != "TYPAGE_IDENTITY"}
    if identity is not None:
        env["TYPAGE_IDENTITY"] = identity
    result = subprocess.run(
        [node, str(DRIVER), *args], input=stdin, capture_output=True, env=env, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def _plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _ours(kind: str) -> crypto.AnyIdentity:
    return crypto.generate_identity(post_quantum=kind == "hybrid")


@pytest.fixture(scope="module", params=KINDS)
def typage_key(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(identity, recipient) as typage generates and prints them."""
    identity, recipient = _node("keygen", request.param).decode().split()
    return identity, recipient


def test_typage_keys_parse_to_the_same_recipient(typage_key: tuple[str, str]) -> None:
    identity, recipient = typage_key
    assert str(crypto.parse_identity(identity).recipient) == recipient
    assert str(crypto.parse_recipient(recipient)) == recipient


@pytest.mark.parametrize("kind", KINDS)
def test_our_keys_give_typage_the_same_recipient(kind: str) -> None:
    ours = _ours(kind)
    assert _node("recipient", identity=ours.to_text()).decode() == f"{ours.recipient}\n"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", KINDS)
def test_typage_opens_what_we_seal(kind: str, size: int) -> None:
    ours = _ours(kind)
    plaintext = _plaintext(size)
    envelope = crypto.seal_bytes(plaintext, [ours.recipient])
    assert _node("decrypt", stdin=envelope, identity=ours.to_text()) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_we_open_what_typage_seals(typage_key: tuple[str, str], size: int) -> None:
    identity, recipient = typage_key
    plaintext = _plaintext(size)
    envelope = _node("encrypt", recipient, stdin=plaintext)
    assert crypto.open_bytes(envelope, [crypto.parse_identity(identity)]) == plaintext


def test_two_hybrid_recipients_across_implementations(typage_key: tuple[str, str]) -> None:
    identity, recipient = typage_key
    ours = _ours("hybrid" if recipient.startswith("age1pq1") else "x25519")
    envelope = crypto.seal_bytes(b"evidence", [crypto.parse_recipient(recipient), ours.recipient])
    assert _node("decrypt", stdin=envelope, identity=identity) == b"evidence"
    theirs = _node("encrypt", recipient, str(ours.recipient), stdin=b"evidence")
    assert crypto.open_bytes(theirs, [ours]) == b"evidence"
