"""The refusal contract: each way an envelope or key string can be bad, its error type and message."""

import base64
import io
import re
from collections.abc import Callable

import pytest

import crypto
from crypto import _bech32
from crypto.x25519 import X25519Identity, X25519Recipient

CHUNK = 64 * 1024
SEALED_CHUNK = CHUNK + 16
NONCE = 16
IDENTITY = X25519Identity(bytes(range(32)))
RECIPIENT = str(IDENTITY.recipient)
SECRET = IDENTITY.to_text()

TRUNCATED = "payload ends without its final chunk: the envelope is truncated"
DOES_NOT_VERIFY = "payload does not verify: the envelope is truncated, corrupted or tampered with"
EMPTY_FINAL = "final chunk is empty: the envelope is damaged"
TRAILING = "data after the final chunk: the envelope was tampered with"
HEADER_TRUNCATED = "header is truncated or has an over-long line"
NO_NONCE = "envelope ends before its payload nonce"
NOT_AGE = "not an age v1 envelope"
MAC_FAILS = "header MAC does not verify: the file may be corrupted or tampered with"
NO_MATCH = "no identity matches this envelope: is it sealed to another key?"
BAD_RECIPIENT = "malformed recipient: expected an age1... string"
BAD_IDENTITY = "malformed identity: expected an AGE-SECRET-KEY-1... string"


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _seal(size: int) -> tuple[bytes, int]:
    """An envelope of size bytes to IDENTITY, and where its payload (the nonce) starts."""
    envelope = crypto.seal_bytes(bytes(size), [IDENTITY.recipient])
    return envelope, crypto.inspect(io.BytesIO(envelope)).header_size


def _flip(data: bytes, index: int) -> bytes:
    damaged = bytearray(data)
    damaged[index] ^= 0x01
    return bytes(damaged)


def _swap_case_of_last_letter(text: str) -> str:
    index = max(i for i, c in enumerate(text) if c.isalpha())
    return text[:index] + text[index].swapcase() + text[index + 1 :]


def _other_last_character(text: str) -> str:
    return text[:-1] + ("q" if text[-1].lower() != "q" else "p")


# --- envelopes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "cut", "message"),
    [
        (CHUNK + 100, lambda h: h + NONCE, TRUNCATED),
        (CHUNK + 100, lambda h: h + NONCE + 1000, DOES_NOT_VERIFY),
        (CHUNK + 100, lambda h: h + NONCE + SEALED_CHUNK, TRUNCATED),
        (CHUNK + 100, lambda h: h + NONCE + SEALED_CHUNK + 16, EMPTY_FINAL),
        (CHUNK + 100, lambda h: h + NONCE + SEALED_CHUNK + 115, DOES_NOT_VERIFY),
        (CHUNK, lambda h: h + NONCE + SEALED_CHUNK - 1, DOES_NOT_VERIFY),
        (2 * CHUNK, lambda h: h + NONCE + SEALED_CHUNK, TRUNCATED),
        (0, lambda h: h + NONCE + 15, DOES_NOT_VERIFY),
    ],
    ids=[
        "after-nonce",
        "mid-chunk",
        "after-first-chunk",
        "final-chunk-only-a-tag",
        "last-byte",
        "one-full-chunk-short-by-one",
        "exact-multiple-after-first-chunk",
        "empty-plaintext-last-byte",
    ],
)
def test_truncated_payload(size: int, cut: Callable[[int], int], message: str) -> None:
    envelope, header = _seal(size)
    end = cut(header)
    assert end < len(envelope)
    with pytest.raises(crypto.PayloadError, match=_exactly(message)):
        crypto.open_bytes(envelope[:end], [IDENTITY])


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda h: 0, NOT_AGE),
        (lambda h: 10, NOT_AGE),
        (lambda h: 30, HEADER_TRUNCATED),
        (lambda h: h - 1, HEADER_TRUNCATED),
        (lambda h: h, NO_NONCE),
        (lambda h: h + NONCE - 1, NO_NONCE),
    ],
    ids=["empty", "in-version-line", "in-stanza", "in-mac-line", "before-nonce", "in-nonce"],
)
def test_truncated_header(cut: Callable[[int], int], message: str) -> None:
    envelope, header = _seal(100)
    with pytest.raises(crypto.HeaderError, match=_exactly(message)):
        crypto.open_bytes(envelope[: cut(header)], [IDENTITY])


@pytest.mark.parametrize(
    ("size", "extra", "message"),
    [
        (0, b"\x00", DOES_NOT_VERIFY),
        (0, bytes(SEALED_CHUNK), DOES_NOT_VERIFY),
        (100, b"\n", DOES_NOT_VERIFY),
        (100, bytes(SEALED_CHUNK), DOES_NOT_VERIFY),
        (CHUNK, b"\x00", TRAILING),
        (CHUNK, b"\n", TRAILING),
        (CHUNK, bytes(SEALED_CHUNK), TRAILING),
        (2 * CHUNK, b"\x00", TRAILING),
    ],
    ids=[
        "empty+1",
        "empty+chunk",
        "short-final+1",
        "short-final+chunk",
        "full-final+1",
        "full-final+newline",
        "full-final+chunk",
        "two-full+1",
    ],
)
def test_trailing_bytes(size: int, extra: bytes, message: str) -> None:
    """A short final chunk swallows the extra bytes and fails its tag; after a full one they are seen."""
    envelope, _ = _seal(size)
    with pytest.raises(crypto.PayloadError, match=_exactly(message)):
        crypto.open_bytes(envelope + extra, [IDENTITY])


@pytest.mark.parametrize(
    "where",
    [
        lambda h, n: h,  # the payload nonce
        lambda h, n: h + NONCE,  # the first chunk's ciphertext
        lambda h, n: h + NONCE + SEALED_CHUNK - 1,  # the first chunk's tag
        lambda h, n: n - 1,  # the final chunk's tag
    ],
    ids=["nonce", "first-chunk", "first-tag", "final-tag"],
)
def test_flipped_payload_bit(where: Callable[[int, int], int]) -> None:
    envelope, header = _seal(CHUNK + 100)
    with pytest.raises(crypto.PayloadError, match=_exactly(DOES_NOT_VERIFY)):
        crypto.open_bytes(_flip(envelope, where(header, len(envelope))), [IDENTITY])


def test_reordered_chunks() -> None:
    envelope, header = _seal(3 * CHUNK)
    start = header + NONCE
    chunks = [envelope[i : i + SEALED_CHUNK] for i in range(start, len(envelope), SEALED_CHUNK)]
    assert len(chunks) == 3
    reordered = envelope[:start] + chunks[1] + chunks[0] + chunks[2]
    with pytest.raises(crypto.PayloadError, match=_exactly(DOES_NOT_VERIFY)):
        crypto.open_bytes(reordered, [IDENTITY])


def _flip_mac(envelope: bytes) -> bytes:
    start = envelope.index(b"\n--- ") + len(b"\n--- ")
    end = envelope.index(b"\n", start)
    mac = bytearray(base64.b64decode(envelope[start:end] + b"="))
    mac[7] ^= 0x80
    return envelope[:start] + base64.b64encode(bytes(mac)).rstrip(b"=") + envelope[end:]


def _swap_stanzas(envelope: bytes) -> bytes:
    lines = envelope.split(b"\n")
    assert lines[1].startswith(b"-> X25519 ") and lines[3].startswith(b"-> X25519 ")
    return b"\n".join([lines[0], *lines[3:5], *lines[1:3], *lines[5:]])


@pytest.mark.parametrize("tamper", [_flip_mac, _swap_stanzas], ids=["mac-bit", "stanza-order"])
def test_tampered_header_fails_its_mac(tamper: Callable[[bytes], bytes]) -> None:
    other = X25519Identity.generate()
    envelope = crypto.seal_bytes(b"evidence", [IDENTITY.recipient, other.recipient])
    tampered = tamper(envelope)
    assert crypto.inspect(io.BytesIO(tampered)).stanza_types == ("X25519", "X25519")
    with pytest.raises(crypto.HeaderMACError, match=_exactly(MAC_FAILS)):
        crypto.open_bytes(tampered, [IDENTITY])


@pytest.mark.parametrize(
    "identities",
    [
        [X25519Identity.generate()],
        [X25519Identity.generate(), X25519Identity.generate()],
        [crypto.ScryptIdentity("a passphrase of some length")],
        [],
    ],
    ids=["another-key", "two-other-keys", "a-passphrase", "no-identity"],
)
def test_wrong_key(identities: list[crypto.Identity]) -> None:
    envelope, _ = _seal(100)
    with pytest.raises(crypto.NoIdentityMatchError, match=_exactly(NO_MATCH)):
        crypto.open_bytes(envelope, identities)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", NOT_AGE),
        (b"hello, world\n", NOT_AGE),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), NOT_AGE),
        (b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n", NOT_AGE),
        (b"age-encryption.org/v2\n-> X25519 abc\n", "unsupported age version"),
        (b"age-encryption.org/v1\nhello\n", "malformed header line"),
        (b"age-encryption.org/v1\n--- " + b"A" * 43 + b"\n" + bytes(32), "header has no recipient stanza"),
    ],
    ids=["empty", "text", "png", "armor", "v2", "garbage-line", "no-stanza"],
)
def test_not_an_age_file(data: bytes, message: str) -> None:
    with pytest.raises(crypto.HeaderError, match=_exactly(message)):
        crypto.open_bytes(data, [IDENTITY])


# --- recipient and identity strings --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        _bech32.encode("agx", IDENTITY.recipient.public_key),
        _bech32.encode("age-secret-key-", IDENTITY.recipient.public_key),
        SECRET,
        _other_last_character(RECIPIENT),
        "AGE1" + RECIPIENT[4:],
        _swap_case_of_last_letter(RECIPIENT),
        RECIPIENT.upper(),
        RECIPIENT[:-1],
        RECIPIENT[:20],
        "age1",
        "",
        _bech32.encode("age", bytes(31)),
        _bech32.encode("age", bytes(33)),
        RECIPIENT[:10] + "b" + RECIPIENT[11:],
        RECIPIENT + " " + RECIPIENT,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVtYW5hZ2VkLWtleS1mb3ItdGVzdGluZy1vbmx5",
    ],
    ids=[
        "wrong-prefix",
        "identity-prefix",
        "identity",
        "bad-checksum",
        "mixed-case-prefix",
        "mixed-case-data",
        "uppercase",
        "truncated-by-one",
        "truncated",
        "prefix-only",
        "empty",
        "31-bytes",
        "33-bytes",
        "not-in-charset",
        "two-recipients",
        "ssh-key",
    ],
)
def test_malformed_recipient(text: str) -> None:
    with pytest.raises(crypto.KeyFormatError, match=_exactly(BAD_RECIPIENT)):
        X25519Recipient.parse(text)


def test_recipient_text_round_trips_and_surrounding_space_is_ignored() -> None:
    assert str(X25519Recipient.parse(RECIPIENT)) == RECIPIENT
    assert X25519Recipient.parse(f"  {RECIPIENT}\n") == IDENTITY.recipient


@pytest.mark.parametrize(
    "text",
    [
        _bech32.encode("age-secret-kex-", bytes(range(32))).upper(),
        RECIPIENT,
        RECIPIENT.upper(),
        _other_last_character(SECRET),
        SECRET.lower(),
        _swap_case_of_last_letter(SECRET),
        SECRET[:-1],
        SECRET[:30],
        "AGE-SECRET-KEY-1",
        "",
        _bech32.encode("age-secret-key-", bytes(31)).upper(),
        SECRET[:20] + "B" + SECRET[21:],
        "# created: 2024-01-01",
    ],
    ids=[
        "wrong-prefix",
        "recipient",
        "uppercase-recipient",
        "bad-checksum",
        "lowercase",
        "mixed-case",
        "truncated-by-one",
        "truncated",
        "prefix-only",
        "empty",
        "31-bytes",
        "not-in-charset",
        "comment",
    ],
)
def test_malformed_identity(text: str) -> None:
    with pytest.raises(crypto.KeyFormatError, match=_exactly(BAD_IDENTITY)):
        X25519Identity.parse(text)


def test_identity_with_a_non_ascii_lookalike_is_refused() -> None:
    lookalike = SECRET.replace("KEY", "\u212aEY", 1)
    assert lookalike != SECRET
    with pytest.raises(crypto.KeyFormatError, match=_exactly(BAD_IDENTITY)):
        X25519Identity.parse(lookalike)


def test_identity_text_round_trips_and_is_never_in_repr() -> None:
    parsed = X25519Identity.parse(f"  {SECRET}\n")
    assert parsed.to_text() == SECRET
    assert parsed.recipient == IDENTITY.recipient
    assert SECRET not in repr(parsed)
    assert SECRET.lower() not in repr(parsed)
    assert repr(parsed) == f"X25519Identity(recipient={RECIPIENT})"
