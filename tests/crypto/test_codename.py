"""A source's reply key, derived from the codename with Argon2id (each derivation costs 64 MiB)."""

import re

import pytest

from crypto import codename
from crypto.x25519 import X25519Identity

CODENAME = "alpha bravo charlie delta"
SALT = bytes(range(16))
OTHER_SALT = bytes(range(1, 17))
# Frozen: computed with libsodium's crypto_pwhash_alg(argon2id13, opslimit=3, memlimit=64 MiB)
# called directly. If this changes, every existing source is locked out of their replies.
KNOWN_RECIPIENT = "age10ce7q5pwkvuvaladt98hdlr5xdh7q4ersf4u3x5dp9jw2yhmmdls2t7d57"
KNOWN_SOURCE_ID = "473abf731611f1315e1dc6345c2bcb39"


@pytest.fixture(scope="module")
def reference() -> X25519Identity:
    return codename.derive_reply_identity(CODENAME, SALT)


@pytest.mark.slow
def test_known_answer(reference: X25519Identity) -> None:
    assert codename.KDF_VERSION == "argon2id-v1"
    assert str(reference.recipient) == KNOWN_RECIPIENT
    assert codename.source_id(reference) == KNOWN_SOURCE_ID


@pytest.mark.slow
def test_same_codename_and_salt_give_the_same_key(reference: X25519Identity) -> None:
    again = codename.derive_reply_identity(CODENAME, SALT)
    assert again.to_text() == reference.to_text()
    assert again.recipient == reference.recipient


@pytest.mark.slow
@pytest.mark.parametrize(
    "typed",
    ["ALPHA Bravo CHARLIE delta", "  alpha  bravo\tcharlie\ndelta  ", "Alpha\u00a0bravo charlie delta"],
    ids=["case", "spacing", "no-break-space"],
)
def test_case_and_spacing_do_not_matter(reference: X25519Identity, typed: str) -> None:
    assert codename.derive_reply_identity(typed, SALT).recipient == reference.recipient


@pytest.mark.slow
@pytest.mark.parametrize(
    "typed",
    [
        "alphabravo charlie delta",
        "alpha bravo charlie",
        "alpha bravo charlie delta echo",
        "alpha-bravo charlie delta",
    ],
    ids=["joined-words", "missing-word", "extra-word", "hyphen"],
)
def test_a_different_codename_gives_a_different_key(reference: X25519Identity, typed: str) -> None:
    assert codename.derive_reply_identity(typed, SALT).recipient != reference.recipient


@pytest.mark.slow
def test_a_different_salt_gives_a_different_key(reference: X25519Identity) -> None:
    other = codename.derive_reply_identity(CODENAME, OTHER_SALT)
    assert other.recipient != reference.recipient
    assert codename.source_id(other) != codename.source_id(reference)


@pytest.mark.slow
def test_source_id_is_stable_and_32_hex_characters(reference: X25519Identity) -> None:
    source_id = codename.source_id(reference)
    assert re.fullmatch(r"[0-9a-f]{32}", source_id)
    assert codename.source_id(codename.derive_reply_identity(CODENAME.upper(), SALT)) == source_id
    assert codename.source_id(X25519Identity.parse(reference.to_text())) == source_id


@pytest.mark.parametrize("salt", [b"", bytes(15), bytes(17), bytes(32)], ids=["0", "15", "17", "32"])
def test_salt_must_be_16_bytes(salt: bytes) -> None:
    with pytest.raises(ValueError, match=r"^salt must be 16 bytes$"):
        codename.derive_reply_identity(CODENAME, salt)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("Alpha Bravo", "alpha bravo"),
        ("  alpha\t\tbravo \n", "alpha bravo"),
        ("ALPHA", "alpha"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalise_codename(typed: str, normal: str) -> None:
    assert codename.normalise_codename(typed) == normal
