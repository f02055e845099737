"""The seekable opener: any range at the chunk boundaries equals the plaintext's slice; damage is refused."""

import io
import random
import re

import pytest

import crypto

CHUNK = 64 * 1024
SEALED = CHUNK + 16
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7]
DOES_NOT_VERIFY = "payload does not verify: the envelope is truncated, corrupted or tampered with"


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


@pytest.fixture(scope="module", params=["x25519", "hybrid"])
def identity(request: pytest.FixtureRequest) -> crypto.AnyIdentity:
    return crypto.generate_identity(post_quantum=request.param == "hybrid")


def _plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _seekable(envelope: bytes, identity: crypto.AnyIdentity) -> crypto.SeekableEnvelope:
    return crypto.open_seekable(io.BytesIO(envelope), [identity])


def _read(opened: crypto.SeekableEnvelope, start: int, stop: int) -> bytes:
    return b"".join(opened.read_range(start, stop))


def _payload_start(envelope: bytes) -> int:
    return envelope.index(b"\n---") + envelope[envelope.index(b"\n---") + 1 :].index(b"\n") + 2 + 16


@pytest.mark.parametrize("size", SIZES)
def test_every_range_at_the_boundaries_is_the_plaintext_slice(
    size: int, identity: crypto.AnyIdentity
) -> None:
    plaintext = _plaintext(size)
    opened = _seekable(crypto.seal_bytes(plaintext, [identity.recipient]), identity)
    assert opened.size == size
    assert opened.chunk_count == max(1, -(-size // CHUNK))
    points = sorted(
        {p for p in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, size - 1, size) if 0 <= p <= size}
    )
    for start in points:
        for stop in points:
            if start <= stop:
                assert _read(opened, start, stop) == plaintext[start:stop], (start, stop)


def test_a_range_reads_only_the_chunks_it_needs(identity: crypto.AnyIdentity) -> None:
    plaintext = _plaintext(10 * CHUNK)
    envelope = bytearray(crypto.seal_bytes(plaintext, [identity.recipient]))
    start = _payload_start(bytes(envelope))
    envelope[start + 2 * SEALED + 5] ^= 1  # chunk 2 is damaged; chunks 7 and 8 still read
    opened = _seekable(bytes(envelope), identity)
    assert _read(opened, 7 * CHUNK + 3, 8 * CHUNK + 9) == plaintext[7 * CHUNK + 3 : 8 * CHUNK + 9]
    with pytest.raises(crypto.PayloadError, match=_exactly(DOES_NOT_VERIFY)):
        _read(opened, 2 * CHUNK, 2 * CHUNK + 1)


@pytest.mark.parametrize("chunk", [0, 1, 2])
def test_a_flipped_bit_in_the_chunk_read_is_refused(chunk: int, identity: crypto.AnyIdentity) -> None:
    plaintext = _plaintext(2 * CHUNK + 100)
    envelope = bytearray(crypto.seal_bytes(plaintext, [identity.recipient]))
    envelope[_payload_start(bytes(envelope)) + chunk * SEALED + 17] ^= 0x80
    opened = _seekable(bytes(envelope), identity)
    pieces = opened.read_range(chunk * CHUNK, chunk * CHUNK + 10)
    with pytest.raises(crypto.PayloadError, match=_exactly(DOES_NOT_VERIFY)):
        next(pieces)


def test_a_file_cut_at_a_chunk_boundary_is_refused(identity: crypto.AnyIdentity) -> None:
    """The new final chunk lacks the last flag: reading it fails, as the whole-file opener does."""
    envelope = crypto.seal_bytes(_plaintext(3 * CHUNK + 10), [identity.recipient])
    cut = envelope[: _payload_start(envelope) + 2 * SEALED]
    opened = _seekable(cut, identity)
    assert _read(opened, 0, 10) == _plaintext(3 * CHUNK + 10)[:10]  # chunk 0 is not the final one
    with pytest.raises(crypto.PayloadError, match=_exactly(DOES_NOT_VERIFY)):
        _read(opened, CHUNK, CHUNK + 1)


@pytest.mark.parametrize("cut", [1, 15, 16, 100])
def test_a_file_cut_inside_the_final_chunk_is_refused(cut: int, identity: crypto.AnyIdentity) -> None:
    envelope = crypto.seal_bytes(_plaintext(CHUNK + 200), [identity.recipient])
    opened = _seekable(envelope[:-cut], identity)
    with pytest.raises(crypto.PayloadError, match=_exactly(DOES_NOT_VERIFY)):
        _read(opened, CHUNK, opened.size)


def test_a_final_chunk_shorter_than_its_tag_is_refused_at_once(identity: crypto.AnyIdentity) -> None:
    envelope = crypto.seal_bytes(_plaintext(CHUNK + 5), [identity.recipient])
    with pytest.raises(crypto.PayloadError, match="does not end with a whole final chunk"):
        _seekable(envelope[:-10], identity)
    with pytest.raises(crypto.PayloadError, match="does not end with a whole final chunk"):
        _seekable(envelope[:-5], identity)  # an empty final chunk after a full one


def test_a_middle_chunk_flagged_last_is_refused(identity: crypto.AnyIdentity) -> None:
    """Appending to a file moves its final chunk into the middle: its last flag no longer fits."""
    envelope = crypto.seal_bytes(_plaintext(CHUNK), [identity.recipient])
    opened = _seekable(envelope + bytes(SEALED), identity)
    with pytest.raises(crypto.PayloadError, match=_exactly(DOES_NOT_VERIFY)):
        _read(opened, 0, 1)


def test_a_payload_shorter_than_a_tag_is_truncated(identity: crypto.AnyIdentity) -> None:
    envelope = crypto.seal_bytes(b"", [identity.recipient])
    with pytest.raises(crypto.PayloadError, match="truncated"):
        _seekable(envelope[:-1], identity)


def test_the_header_is_checked_first(identity: crypto.AnyIdentity) -> None:
    envelope = crypto.seal_bytes(b"evidence", [identity.recipient])
    with pytest.raises(crypto.NoIdentityMatchError):
        _seekable(envelope, crypto.generate_identity(post_quantum=False))
    with pytest.raises(crypto.HeaderError):
        _seekable(b"not an envelope\n", identity)
    tampered = envelope.replace(b"age-encryption.org/v1\n-> ", b"age-encryption.org/v1\n-> X", 1)
    with pytest.raises(crypto.CryptoError):
        _seekable(tampered, identity)


def test_a_range_outside_the_plaintext_is_a_misuse(identity: crypto.AnyIdentity) -> None:
    opened = _seekable(crypto.seal_bytes(b"12345", [identity.recipient]), identity)
    for start, stop in ((0, 6), (3, 2), (-1, 2)):
        with pytest.raises(ValueError, match="outside"):
            _read(opened, start, stop)
    with pytest.raises(ValueError, match="outside"):
        opened.chunk(1)


def test_the_key_stays_out_of_repr(identity: crypto.AnyIdentity) -> None:
    opened = _seekable(crypto.seal_bytes(b"12345", [identity.recipient]), identity)
    assert repr(opened) == "SeekableEnvelope(size=5)"
