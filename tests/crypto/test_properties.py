"""Properties of envelopes: every round trip works, and every single-bit flip, cut or append fails."""

import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crypto
from crypto.x25519 import X25519Identity

CHUNK = 64 * 1024
SEALED_CHUNK = CHUNK + 16
FIRST = X25519Identity.generate()
SECOND = X25519Identity.generate()
RECIPIENTS = [FIRST.recipient, SECOND.recipient]
# The database stays off: a failure prints its example, and the repository stays clean.
PROPERTY = settings(max_examples=100, deadline=None, database=None)


def _random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


# Small arbitrary bytes, and sizes around the 64 KiB chunk boundaries where the framing changes.
plaintexts = st.one_of(
    st.binary(max_size=2048),
    st.builds(
        _random_bytes,
        st.one_of(
            st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1]),
            st.integers(min_value=CHUNK - 40, max_value=2 * CHUNK + 40),
        ),
        st.integers(min_value=0, max_value=2**32),
    ),
)


def _open_released(envelope: bytes, identities: list[crypto.Identity]) -> tuple[bytes, Exception | None]:
    """Open chunk by chunk; return what was released before the first error, and that error."""
    released = bytearray()
    try:
        for chunk in crypto.open_chunks(io.BytesIO(envelope), identities):
            released += chunk
    except crypto.CryptoError as error:
        return bytes(released), error
    return bytes(released), None


def _flip(envelope: bytes, bit: int) -> bytes:
    damaged = bytearray(envelope)
    damaged[bit // 8] ^= 1 << (bit % 8)
    return bytes(damaged)


def _header_and_nonce_size(envelope: bytes) -> int:
    return crypto.inspect(io.BytesIO(envelope)).header_size + 16


@PROPERTY
@given(plaintext=plaintexts, recipients=st.integers(min_value=1, max_value=3))
def test_round_trip_of_arbitrary_bytes(plaintext: bytes, recipients: int) -> None:
    identities = [X25519Identity.generate() for _ in range(recipients)]
    envelope = crypto.seal_bytes(plaintext, [identity.recipient for identity in identities])
    for identity in identities:
        assert crypto.open_bytes(envelope, [identity]) == plaintext


@PROPERTY
@given(plaintext=plaintexts, data=st.data())
def test_flipping_any_bit_fails_with_a_crypto_error(plaintext: bytes, data: st.DataObject) -> None:
    envelope = crypto.seal_bytes(plaintext, RECIPIENTS)
    bit = data.draw(st.integers(min_value=0, max_value=len(envelope) * 8 - 1), label="bit")
    released, error = _open_released(_flip(envelope, bit), [FIRST])
    assert error is not None, "a damaged envelope opened"
    assert plaintext.startswith(released)


@PROPERTY
@given(plaintext=st.binary(max_size=256), data=st.data())
def test_flipping_any_header_bit_fails_with_a_crypto_error(plaintext: bytes, data: st.DataObject) -> None:
    envelope = crypto.seal_bytes(plaintext, RECIPIENTS)
    limit = _header_and_nonce_size(envelope) * 8 - 1
    bit = data.draw(st.integers(min_value=0, max_value=limit), label="bit")
    for identity in (FIRST, SECOND):
        released, error = _open_released(_flip(envelope, bit), [identity])
        assert error is not None, "a damaged header opened"
        assert released == b""


def test_flipping_each_bit_of_a_small_envelope_fails() -> None:
    plaintext = b"a short message"
    envelope = crypto.seal_bytes(plaintext, RECIPIENTS)
    for bit in range(len(envelope) * 8):
        released, error = _open_released(_flip(envelope, bit), [SECOND])
        assert error is not None, f"flipping bit {bit} still opens"
        assert released == b"", f"flipping bit {bit} released plaintext"


@PROPERTY
@given(plaintext=plaintexts, data=st.data())
def test_truncation_at_any_point_fails_with_a_crypto_error(plaintext: bytes, data: st.DataObject) -> None:
    envelope = crypto.seal_bytes(plaintext, RECIPIENTS)
    cut = data.draw(st.integers(min_value=0, max_value=len(envelope) - 1), label="cut")
    released, error = _open_released(envelope[:cut], [FIRST])
    assert error is not None, "a truncated envelope opened"
    assert plaintext.startswith(released)
    assert len(released) < max(len(plaintext), 1)


@pytest.mark.parametrize("size", [0, 5, CHUNK, CHUNK + 5, 2 * CHUNK])
def test_every_cut_near_the_header_and_the_chunk_boundaries_fails(size: int) -> None:
    plaintext = _random_bytes(size, size)
    envelope = crypto.seal_bytes(plaintext, [FIRST.recipient])
    start = _header_and_nonce_size(envelope)
    cuts = set(range(start + 1))
    for boundary in range(start, len(envelope) + 1, SEALED_CHUNK):
        cuts.update(range(max(boundary - 20, 0), min(boundary + 20, len(envelope))))
    cuts.update(range(len(envelope) - 20, len(envelope)))
    for cut in sorted(cuts):
        released, error = _open_released(envelope[:cut], [FIRST])
        assert error is not None, f"cut at {cut} of {len(envelope)} still opens"
        assert plaintext.startswith(released)


@PROPERTY
@given(plaintext=plaintexts, extra=st.binary(min_size=1, max_size=SEALED_CHUNK + 8))
def test_appended_bytes_fail_with_payload_error(plaintext: bytes, extra: bytes) -> None:
    envelope = crypto.seal_bytes(plaintext, RECIPIENTS)
    released, error = _open_released(envelope + extra, [FIRST])
    assert isinstance(error, crypto.PayloadError), repr(error)
    assert plaintext.startswith(released)
