"""Round trips through seal/open, the incremental Sealer, and interop with `age` and pyrage."""

import functools
import io
import os
import random
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pyrage
import pytest

import crypto
from crypto import keyfile
from crypto.x25519 import X25519Identity

REPO = Path(__file__).resolve().parents[2]
CHUNK = 64 * 1024
TAG = 16
TIMEOUT = 60.0
PASSPHRASE = "correct horse battery staple"
SIZES = [
    0,
    1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    pytest.param(10 * 1024 * 1024, marks=pytest.mark.slow, id="10MiB"),
]
TRUNCATED = "payload ends without its final chunk: the envelope is truncated"


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


@functools.cache
def _plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _payload_size(plaintext_size: int) -> int:
    """Nonce, then one 16-byte tag per 64 KiB chunk; an empty plaintext still has one chunk."""
    chunks = max(1, -(-plaintext_size // CHUNK))
    return 16 + plaintext_size + chunks * TAG


def _age(*args: str, stdin: bytes = b"") -> bytes:
    result = subprocess.run(["age", *args], input=stdin, capture_output=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stderr == b""
    return result.stdout


def _identity_file(path: Path, identity: X25519Identity) -> Path:
    path.write_text(keyfile.identity_file_text(identity))
    return path


@pytest.mark.parametrize("size", SIZES)
def test_two_recipients_each_identity_opens_alone(size: int) -> None:
    first, second = X25519Identity.generate(), X25519Identity.generate()
    plaintext = _plaintext(size)
    envelope = crypto.seal_bytes(plaintext, [first.recipient, second.recipient])
    facts = crypto.inspect(io.BytesIO(envelope))
    assert facts.stanza_types == ("X25519", "X25519")
    assert facts.payload_size == _payload_size(size)
    assert facts.plaintext_size == size
    assert crypto.open_bytes(envelope, [first]) == plaintext
    assert crypto.open_bytes(envelope, [second]) == plaintext
    with pytest.raises(crypto.NoIdentityMatchError):
        crypto.open_bytes(envelope, [X25519Identity.generate()])


@pytest.mark.parametrize("size", SIZES)
def test_stream_round_trip(size: int) -> None:
    identity = X25519Identity.generate()
    plaintext = _plaintext(size)
    sealed = io.BytesIO()
    crypto.seal_stream(io.BytesIO(plaintext), sealed, [identity.recipient])
    sealed.seek(0)
    opened = io.BytesIO()
    assert crypto.open_stream(sealed, opened, [identity]) == size
    assert opened.getvalue() == plaintext


def test_seal_refuses_no_recipient_and_a_passphrase_beside_a_key() -> None:
    with pytest.raises(ValueError, match=_exactly("seal needs at least one recipient")):
        crypto.seal_bytes(b"x", [])
    mixed = [crypto.ScryptRecipient(PASSPHRASE, work_factor=2), X25519Identity.generate().recipient]
    with pytest.raises(ValueError, match=_exactly("a passphrase recipient must be the only recipient")):
        crypto.seal_bytes(b"x", mixed)


# --- the age CLI ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_our_envelope_opens_with_age_cli(tmp_path: Path, size: int) -> None:
    identity = X25519Identity.generate()
    key = _identity_file(tmp_path / "key.txt", identity)
    plaintext = _plaintext(size)
    envelope = crypto.seal_bytes(plaintext, [identity.recipient])
    assert _age("-d", "-i", str(key), stdin=envelope) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_age_cli_envelope_opens_with_us(size: int) -> None:
    identity = X25519Identity.generate()
    plaintext = _plaintext(size)
    envelope = _age("-r", str(identity.recipient), stdin=plaintext)
    assert crypto.open_bytes(envelope, [identity]) == plaintext


def test_age_cli_two_recipients_and_an_age_keygen_file(tmp_path: Path) -> None:
    key = tmp_path / "age-keygen.txt"
    subprocess.run(["age-keygen", "-o", str(key)], capture_output=True, timeout=TIMEOUT, check=True)

    def never(_: str = "") -> str:
        raise AssertionError("a plain identity file must not ask for a passphrase")

    (from_age_keygen,), encrypted = keyfile.read_identity_file(str(key), never)
    assert encrypted is False
    ours = X25519Identity.generate()
    plaintext = _plaintext(CHUNK + 1)
    envelope = _age("-r", str(from_age_keygen.recipient), "-r", str(ours.recipient), stdin=plaintext)
    assert crypto.open_bytes(envelope, [from_age_keygen]) == plaintext
    assert crypto.open_bytes(envelope, [ours]) == plaintext
    sealed_by_us = crypto.seal_bytes(plaintext, [ours.recipient, from_age_keygen.recipient])
    assert _age("-d", "-i", str(key), stdin=sealed_by_us) == plaintext


# --- pyrage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_our_envelope_opens_with_pyrage(size: int) -> None:
    theirs = pyrage.x25519.Identity.generate()
    ours = X25519Identity.generate()
    plaintext = _plaintext(size)
    recipient = crypto.X25519Recipient.parse(str(theirs.to_public()))
    envelope = crypto.seal_bytes(plaintext, [ours.recipient, recipient])
    assert pyrage.decrypt(envelope, [theirs]) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_pyrage_envelope_opens_with_us(size: int) -> None:
    theirs = pyrage.x25519.Identity.generate()
    ours = X25519Identity.parse(str(theirs))
    assert str(ours.recipient) == str(theirs.to_public())
    plaintext = _plaintext(size)
    envelope = pyrage.encrypt(plaintext, [theirs.to_public()])
    assert crypto.open_bytes(envelope, [ours]) == plaintext


@pytest.mark.slow
def test_pyrage_passphrase_envelope_opens_with_scrypt_identity() -> None:
    plaintext = _plaintext(CHUNK + 1)
    envelope = pyrage.passphrase.encrypt(plaintext, PASSPHRASE)
    facts = crypto.inspect(io.BytesIO(envelope))
    assert facts.stanza_types == ("scrypt",)
    assert facts.scrypt_work_factor is not None
    assert crypto.open_bytes(envelope, [crypto.ScryptIdentity(PASSPHRASE)]) == plaintext


def test_scrypt_recipient_envelope_opens_with_pyrage() -> None:
    plaintext = _plaintext(CHUNK)
    envelope = crypto.seal_bytes(plaintext, [crypto.ScryptRecipient(PASSPHRASE, work_factor=10)])
    assert pyrage.passphrase.decrypt(envelope, PASSPHRASE) == plaintext


# --- a station key file made by `python -m crypto keygen`, opened by `age -d -i` on a pty ----------


def _read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    seen = b""
    while marker not in seen.lower():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"no {marker!r} prompt from age; it wrote {seen!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if not data:
                pytest.fail(f"age exited before prompting; it wrote {seen!r}")
            seen += data
    return seen


def _drain(fd: int) -> bytes:
    seen = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    return seen


def _age_decrypt_on_a_pty(key: Path, envelope: Path, out: Path, passphrase: str) -> tuple[int, bytes]:
    """Run `age -d -i key`, which reads the key file's passphrase from a terminal, on a new pty."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            ["age", "-d", "-i", str(key), "-o", str(out), str(envelope)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
    finally:
        os.close(slave)
    try:
        transcript = _read_until(master, b"passphrase", time.monotonic() + TIMEOUT)
        os.write(master, passphrase.encode() + b"\n")
        returncode = process.wait(timeout=TIMEOUT)
        return returncode, transcript + _drain(master)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


@pytest.mark.slow
def test_keygen_file_opens_with_age_cli_on_a_terminal(tmp_path: Path) -> None:
    key = tmp_path / "station.key"
    env = {**os.environ, "TAMGA_PASSPHRASE": PASSPHRASE}
    made = subprocess.run(
        [sys.executable, "-m", "crypto", "keygen", "-o", str(key)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        start_new_session=True,
    )
    assert made.returncode == 0, made.stderr
    assert key.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")
    recipient = crypto.X25519Recipient.parse(made.stderr.removeprefix("Public key: "))
    plaintext = _plaintext(CHUNK + 1)
    envelope = tmp_path / "evidence.age"
    envelope.write_bytes(crypto.seal_bytes(plaintext, [recipient]))
    out = tmp_path / "evidence"
    returncode, transcript = _age_decrypt_on_a_pty(key, envelope, out, PASSPHRASE)
    assert returncode == 0, transcript
    assert b'Enter passphrase for identity file "' in transcript
    assert out.read_bytes() == plaintext


# --- the incremental Sealer ----------------------------------------------------------------------

PIECES = [(1,), (7,), (CHUNK + 3,), (1, 7, CHUNK + 3)]


def _write_in_pieces(sealer: crypto.Sealer, plaintext: bytes, pieces: tuple[int, ...]) -> None:
    offset, turn = 0, 0
    while offset < len(plaintext):
        size = pieces[turn % len(pieces)]
        sealer.write(plaintext[offset : offset + size])
        offset += size
        turn += 1


@pytest.mark.parametrize("pieces", PIECES, ids=lambda p: "+".join(map(str, p)))
@pytest.mark.parametrize("size", [2 * CHUNK, 2 * CHUNK + 5])
def test_sealer_odd_sized_writes_give_the_same_plaintext(pieces: tuple[int, ...], size: int) -> None:
    identity = X25519Identity.generate()
    plaintext = _plaintext(size)
    out = io.BytesIO()
    sealer = crypto.Sealer(out, [identity.recipient])
    sealer.write(b"")
    _write_in_pieces(sealer, plaintext, pieces)
    sealer.close()
    envelope = out.getvalue()
    assert crypto.open_bytes(envelope, [identity]) == plaintext
    # Same chunk layout as a one-shot seal: the pieces never show in the output.
    assert len(envelope) == len(crypto.seal_bytes(plaintext, [identity.recipient]))


@pytest.mark.parametrize("pieces", [(CHUNK * 4,), (1, 7, CHUNK + 3)], ids=["one-write", "pieces"])
@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 3 * CHUNK])
def test_aborted_sealer_output_never_opens(pieces: tuple[int, ...], size: int) -> None:
    identity = X25519Identity.generate()
    plaintext = _plaintext(size)
    out = io.BytesIO()
    sealer = crypto.Sealer(out, [identity.recipient])
    _write_in_pieces(sealer, plaintext, pieces)
    sealer.abort()
    released = bytearray()
    with pytest.raises(crypto.PayloadError, match=_exactly(TRUNCATED)):
        for chunk in crypto.open_chunks(io.BytesIO(out.getvalue()), [identity]):
            released += chunk
    assert plaintext.startswith(released)
    assert len(released) < max(size, 1)


def test_sealer_refuses_use_after_close_or_abort() -> None:
    recipient = X25519Identity.generate().recipient
    closed = crypto.Sealer(io.BytesIO(), [recipient])
    closed.close()
    with pytest.raises(ValueError, match=_exactly("write to a sealer that is closed or aborted")):
        closed.write(b"x")
    with pytest.raises(ValueError, match=_exactly("sealer is already closed or aborted")):
        closed.close()
    aborted = crypto.Sealer(io.BytesIO(), [recipient])
    aborted.write(b"x")
    aborted.abort()
    with pytest.raises(ValueError, match=_exactly("write to a sealer that is closed or aborted")):
        aborted.write(b"x")
    with pytest.raises(ValueError, match=_exactly("sealer is already closed or aborted")):
        aborted.close()


def test_age_keygen_derives_the_same_recipient(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    key = _identity_file(tmp_path / "key.txt", identity)
    result = subprocess.run(
        ["age-keygen", "-y", str(key)], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{identity.recipient}\n", "")
