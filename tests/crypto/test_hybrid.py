"""Hybrid post-quantum keys (mlkem768x25519): known answers, round trips, refusals, keys files, CLI."""

import hashlib
import io
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import crypto
from crypto import _header, keyfile
from crypto.hybrid import BODY_SIZE, ENC_SIZE, STANZA_TYPE

REPO = Path(__file__).resolve().parents[2]
CHUNK = 64 * 1024
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7]
TIMEOUT = 60.0
PASSPHRASE = "station passphrase, long enough"
# The example key pair of the age specification (C2SP age.md, "The MLKEM768-X25519 ... type").
SPEC_IDENTITY = "AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR"
SPEC_RECIPIENT_START = "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5"
SPEC_RECIPIENT_SHA256 = "a091dd7e0ee9d62b75173dcc98441a0424baa941e66a8776e570a4ae60ff61ea"
MIXED = (
    "incompatible recipients: can't mix post-quantum (age1pq1...) and classic (age1...) "
    "recipients in one envelope"
)


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _run(*args: str, stdin: bytes = b"", passphrase: str | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TAMGA_PASSPHRASE"}
    if passphrase is not None:
        env["TAMGA_PASSPHRASE"] = passphrase
    return subprocess.run(
        [sys.executable, "-m", "crypto", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=TIMEOUT,
        check=False,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def identity() -> crypto.HybridIdentity:
    return crypto.HybridIdentity.generate()


def test_the_specification_example_key_pair() -> None:
    recipient = str(crypto.HybridIdentity.parse(SPEC_IDENTITY).recipient)
    assert recipient.startswith(SPEC_RECIPIENT_START)
    assert len(recipient) == 1959
    assert hashlib.sha256(recipient.encode()).hexdigest() == SPEC_RECIPIENT_SHA256


def test_key_strings_round_trip(identity: crypto.HybridIdentity) -> None:
    text = identity.to_text()
    assert text.startswith("AGE-SECRET-KEY-PQ-1") and text == text.upper()
    again = crypto.parse_identity(text)
    assert isinstance(again, crypto.HybridIdentity)
    assert again.recipient == identity.recipient
    recipient = crypto.parse_recipient(str(identity.recipient))
    assert isinstance(recipient, crypto.HybridRecipient)
    assert recipient == identity.recipient and hash(recipient) == hash(identity.recipient)
    assert str(recipient).startswith("age1pq1")


def test_parse_dispatches_on_the_prefix() -> None:
    classic = crypto.X25519Identity.generate()
    assert isinstance(crypto.parse_identity(classic.to_text()), crypto.X25519Identity)
    assert isinstance(crypto.parse_recipient(str(classic.recipient)), crypto.X25519Recipient)
    assert crypto.is_post_quantum(crypto.generate_identity())
    assert not crypto.is_post_quantum(crypto.generate_identity(post_quantum=False))


def test_secrets_stay_out_of_repr(identity: crypto.HybridIdentity) -> None:
    secret = identity.to_text()
    assert secret not in repr(identity) and secret[19:40] not in repr(identity)
    assert repr(identity).startswith("HybridIdentity(recipient=HybridRecipient(age1pq1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age1pq1qqqq", "malformed recipient: expected an age1pq1... string"),
        ("AGE1PQ1", "malformed recipient: expected an age1pq1... string"),
        ("age1 not a key", "malformed recipient: expected an age1... string"),
    ],
)
def test_malformed_recipients(text: str, message: str) -> None:
    with pytest.raises(crypto.KeyFormatError, match=_exactly(message)):
        crypto.parse_recipient(text)


def test_a_recipient_with_a_bad_checksum_or_case(identity: crypto.HybridIdentity) -> None:
    text = str(identity.recipient)
    flipped = text[:-1] + ("q" if text[-1] != "q" else "p")
    for bad in (flipped, text.upper(), text[:-10]):
        with pytest.raises(crypto.KeyFormatError, match="expected an age1pq1"):
            crypto.parse_recipient(bad)


def test_malformed_identities(identity: crypto.HybridIdentity) -> None:
    text = identity.to_text()
    other = "Q" if text[-1] != "Q" else "P"  # a changed last character: the checksum fails
    for bad in (text.lower(), text[:-1] + other, "AGE-SECRET-KEY-PQ-1"):
        with pytest.raises(
            crypto.KeyFormatError,
            match=_exactly("malformed identity: expected an AGE-SECRET-KEY-PQ-1... string"),
        ):
            crypto.parse_identity(bad)


@pytest.mark.parametrize("size", SIZES)
def test_round_trip(identity: crypto.HybridIdentity, size: int) -> None:
    plaintext = _plaintext(size)
    envelope = crypto.seal_bytes(plaintext, [identity.recipient])
    assert crypto.open_bytes(envelope, [identity]) == plaintext
    out = io.BytesIO()
    crypto.seal_stream(io.BytesIO(plaintext), out, [identity.recipient])
    opened = io.BytesIO()
    assert crypto.open_stream(io.BytesIO(out.getvalue()), opened, [identity]) == size
    assert opened.getvalue() == plaintext


def test_the_stanza_has_the_specified_shape(identity: crypto.HybridIdentity) -> None:
    envelope = crypto.seal_bytes(b"x", [identity.recipient])
    (stanza,) = _header.read_header(io.BytesIO(envelope)).stanzas
    assert stanza.type == STANZA_TYPE
    assert len(stanza.args) == 1
    assert len(crypto._primitives.b64decode(stanza.args[0].encode())) == ENC_SIZE == 1120
    assert len(stanza.body) == BODY_SIZE == 32


def test_two_hybrid_recipients_each_identity_opens_alone(identity: crypto.HybridIdentity) -> None:
    other = crypto.HybridIdentity.generate()
    envelope = crypto.seal_bytes(b"evidence", [identity.recipient, other.recipient])
    assert crypto.open_bytes(envelope, [identity]) == b"evidence"
    assert crypto.open_bytes(envelope, [other]) == b"evidence"


def test_wrong_identities_do_not_match(identity: crypto.HybridIdentity) -> None:
    envelope = crypto.seal_bytes(b"evidence", [identity.recipient])
    for wrong in (crypto.HybridIdentity.generate(), crypto.X25519Identity.generate()):
        with pytest.raises(crypto.NoIdentityMatchError):
            crypto.open_bytes(envelope, [wrong])


def test_a_flipped_bit_in_the_stanza_body_does_not_match(identity: crypto.HybridIdentity) -> None:
    envelope = crypto.seal_bytes(b"evidence", [identity.recipient])
    src = io.BytesIO(envelope)
    (stanza,) = _header.read_header(src).stanzas
    body = bytes([stanza.body[0] ^ 1]) + stanza.body[1:]
    forged = _header.encode_header([_header.Stanza(stanza.type, stanza.args, body)], bytes(16))
    with pytest.raises(crypto.NoIdentityMatchError):
        crypto.open_bytes(forged + src.read(), [identity])


def test_mixing_hybrid_and_classic_recipients_is_refused(identity: crypto.HybridIdentity) -> None:
    classic = crypto.X25519Identity.generate().recipient
    for recipients in ([identity.recipient, classic], [classic, identity.recipient]):
        with pytest.raises(crypto.RecipientMixError, match=_exactly(MIXED)):
            crypto.seal_bytes(b"x", recipients)
        with pytest.raises(ValueError, match=_exactly(MIXED)):
            crypto.check_recipients(recipients)
    out = io.BytesIO()
    with pytest.raises(crypto.RecipientMixError):
        crypto.Sealer(out, [identity.recipient, classic])
    assert out.getvalue() == b""  # refused before a byte was written


def test_a_passphrase_file_holds_a_hybrid_identity(tmp_path: Path, identity: crypto.HybridIdentity) -> None:
    path = tmp_path / "station.key"
    keyfile.write_identity_file(str(path), identity, PASSPHRASE)
    assert path.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")
    identities, encrypted = keyfile.read_identity_file(str(path), PASSPHRASE)
    assert encrypted
    assert [i.recipient for i in identities] == [identity.recipient]
    text = keyfile.identity_file_text(identity)
    assert f"# public key: {identity.recipient}\n{identity.to_text()}\n" in text


def test_cli_keygen_recipient_seal_open_inspect(tmp_path: Path) -> None:
    key = tmp_path / "station.key"
    made = _run("keygen", "--post-quantum", "-o", str(key), passphrase=PASSPHRASE)
    assert made.returncode == 0, made.stderr
    recipient = made.stderr.decode().removeprefix("Public key: ").strip()
    assert recipient.startswith("age1pq1")
    assert key.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")
    printed = _run("recipient", str(key), passphrase=PASSPHRASE)
    assert printed.stdout.decode() == f"{recipient}\n"

    plaintext = _plaintext(CHUNK + 1)
    (tmp_path / "video.mp4").write_bytes(plaintext)
    sealed = tmp_path / "video.mp4.age"
    assert _run("seal", "-r", recipient, "-o", str(sealed), str(tmp_path / "video.mp4")).returncode == 0
    opened = _run("open", "-i", str(key), str(sealed), passphrase=PASSPHRASE)
    assert opened.returncode == 0 and opened.stdout == plaintext

    facts = _run("inspect", str(sealed)).stdout.decode()
    assert "recipient stanzas: mlkem768x25519\n" in facts
    assert f"plaintext size: {CHUNK + 1} bytes" in facts


def test_cli_refuses_mixed_recipients(identity: crypto.HybridIdentity) -> None:
    classic = str(crypto.X25519Identity.generate().recipient)
    result = _run("seal", "-r", str(identity.recipient), "-r", classic, stdin=b"x")
    assert result.returncode == 1
    assert result.stderr.decode() == f"error: {MIXED}\n"
    assert result.stdout == b""


def test_cli_keygen_without_the_flag_stays_classic(tmp_path: Path) -> None:
    made = _run("keygen", "--plain", "-o", str(tmp_path / "k"))
    assert made.stderr.decode().startswith("Public key: age1") and "age1pq1" not in made.stderr.decode()
    plain = _run("keygen", "--plain", "--post-quantum", "-o", str(tmp_path / "pq"))
    assert "AGE-SECRET-KEY-PQ-1" in (tmp_path / "pq").read_text()
    assert plain.stderr.decode().startswith("Public key: age1pq1")
