"""crypto.check_unverified_prefix: what a server can check of a sealed upload without a key."""

import pytest

from crypto import HeaderError, HybridIdentity, X25519Identity, check_unverified_prefix, seal_bytes
from crypto.envelope import fits_stream_framing

CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def recipients() -> list:
    return [X25519Identity.generate().recipient, X25519Identity.generate().recipient]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7])
def test_real_envelopes_pass_whole_and_byte_by_byte(recipients: list, size: int) -> None:
    envelope = seal_bytes(b"x" * size, recipients)
    header_size = check_unverified_prefix(envelope, len(envelope), recipients)
    assert header_size is not None and envelope[header_size - 1 : header_size] == b"\n"
    results = [check_unverified_prefix(envelope[:n], len(envelope), recipients) for n in range(header_size)]
    assert results == [None] * header_size
    assert fits_stream_framing(len(envelope) - header_size)


def test_hybrid_recipients_are_counted_by_their_type() -> None:
    hybrid = [HybridIdentity.generate().recipient]
    envelope = seal_bytes(b"evidence", hybrid)
    assert check_unverified_prefix(envelope, len(envelope), hybrid)
    with pytest.raises(HeaderError):
        check_unverified_prefix(envelope, len(envelope), [X25519Identity.generate().recipient])


def test_a_body_that_is_not_age_is_refused_at_its_first_bytes(recipients: list) -> None:
    with pytest.raises(HeaderError):
        check_unverified_prefix(b"%PDF-1.7\n", 10_000, recipients)
    with pytest.raises(HeaderError):
        check_unverified_prefix(b"age-encryption.org/v2\n", 10_000, recipients)


def test_the_wrong_number_of_stanzas_is_refused(recipients: list) -> None:
    one = seal_bytes(b"evidence", recipients[:1])
    with pytest.raises(HeaderError, match="stanzas"):
        check_unverified_prefix(one, len(one), recipients)
    three = seal_bytes(b"evidence", [*recipients, X25519Identity.generate().recipient])
    with pytest.raises(HeaderError, match="stanzas"):
        check_unverified_prefix(three, len(three), recipients)


@pytest.mark.parametrize("delta", [1, 15, 16])
def test_a_length_that_stream_cannot_produce_is_refused(recipients: list, delta: int) -> None:
    envelope = seal_bytes(b"x" * CHUNK, recipients)  # 1-16 bytes more: a bad final chunk
    with pytest.raises(HeaderError, match="framing"):
        check_unverified_prefix(envelope, len(envelope) + delta, recipients)


def test_a_header_that_never_ends_is_refused(recipients: list) -> None:
    prefix = b"age-encryption.org/v1\n-> X25519 abc\n"
    with pytest.raises(HeaderError):
        check_unverified_prefix(prefix, len(prefix), recipients)
    assert check_unverified_prefix(prefix, 1 << 30, recipients) is None


def test_stream_framing_by_size() -> None:
    sealed = CHUNK + 16
    assert fits_stream_framing(16 + 16)  # the empty plaintext: a bare tag
    assert not fits_stream_framing(16 + 15)
    assert fits_stream_framing(16 + 17)
    assert fits_stream_framing(16 + sealed)
    assert not fits_stream_framing(16 + sealed + 16)  # an empty final chunk after a full one
    assert fits_stream_framing(16 + sealed + 17)
