"""Seal to recipients and open with identities: one envelope is one age v1 file."""

import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from crypto import _header, _stream
from crypto._header import Stanza
from crypto._primitives import TAG_SIZE
from crypto.errors import HeaderError, NoIdentityMatchError, RecipientMixError
from crypto.hybrid import STANZA_TYPE as HYBRID
from crypto.hybrid import HybridRecipient
from crypto.scrypt import STANZA_TYPE as SCRYPT
from crypto.x25519 import STANZA_TYPE as X25519
from crypto.x25519 import X25519Recipient

FILE_KEY_SIZE = 16


class Recipient(Protocol):
    def wrap(self, file_key: bytes) -> list[Stanza]: ...


class Identity(Protocol):
    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None: ...


def check_recipients(recipients: Sequence[Recipient]) -> None:
    """Refuse a set of recipients no envelope may have: none, or hybrid mixed with classic.

    Callers that take recipients from configuration can call it early, to refuse at start-up.
    """
    if not recipients:
        raise ValueError("seal needs at least one recipient")
    hybrid = sum(isinstance(recipient, HybridRecipient) for recipient in recipients)
    if 0 < hybrid < len(recipients):
        raise RecipientMixError()


def _write_header(dst: BinaryIO, recipients: Sequence[Recipient]) -> bytes:
    """Write a header for a fresh file key wrapped to every recipient; return the file key."""
    check_recipients(recipients)
    file_key = os.urandom(FILE_KEY_SIZE)
    stanzas = [stanza for recipient in recipients for stanza in recipient.wrap(file_key)]
    if len(stanzas) > 1 and any(s.type == SCRYPT for s in stanzas):
        raise ValueError("a passphrase recipient must be the only recipient")
    dst.write(_header.encode_header(stanzas, file_key))
    return file_key


class Sealer:
    """An envelope written as bytes are pushed in: write(), then close() or abort().

    Nothing plaintext is kept beyond one 64 KiB chunk in memory. After abort() the output
    lacks its final chunk, so it can never open as a valid (truncated) file.
    """

    def __init__(self, dst: BinaryIO, recipients: Sequence[Recipient]) -> None:
        self._payload = _stream.PayloadWriter(dst, _write_header(dst, recipients))

    def write(self, data: bytes) -> None:
        self._payload.write(data)

    def close(self) -> None:
        self._payload.close()

    def abort(self) -> None:
        self._payload.abort()


def seal_stream(src: BinaryIO, dst: BinaryIO, recipients: Sequence[Recipient]) -> None:
    """Seal everything src yields into dst, in constant memory (a few 256 KiB buffers).

    On an idle machine the writes may run on a second thread beside the sealing, when that is
    faster (crypto/overlap.py).
    """
    _stream.seal_payload(src, dst, _write_header(dst, recipients))


def seal_bytes(plaintext: bytes, recipients: Sequence[Recipient]) -> bytes:
    out = io.BytesIO()
    sealer = Sealer(out, recipients)
    sealer.write(plaintext)
    sealer.close()
    return out.getvalue()


def file_key_of(header: _header.Header, identities: Sequence[Identity]) -> bytes:
    """The file key of the first identity that opens a stanza, after the header MAC verified."""
    if any(s.type == SCRYPT for s in header.stanzas) and len(header.stanzas) != 1:
        raise HeaderError("a passphrase (scrypt) stanza must be alone in the header")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            _header.verify_mac(header, file_key)
            return file_key
    raise NoIdentityMatchError()


def open_chunks(src: BinaryIO, identities: Sequence[Identity]) -> Iterator[bytes]:
    """Yield plaintext chunk by chunk, each only after it verified.

    The header is checked before the first chunk. A fault raises a CryptoError subclass after
    the last good chunk: a caller that must not act on a partial file waits for the end.
    """
    header = _header.read_header(src)
    file_key = file_key_of(header, identities)
    nonce = _stream.read_payload_nonce(src)
    yield from _stream.iter_payload(src, file_key, nonce)


def open_stream(src: BinaryIO, dst: BinaryIO, identities: Sequence[Identity]) -> int:
    """Write the plaintext of src to dst and return its size. dst may hold a prefix on failure.

    Verified batches of 256 KiB are written, on a second thread when the machine has a core idle.
    """
    header = _header.read_header(src)
    file_key = file_key_of(header, identities)
    nonce = _stream.read_payload_nonce(src)
    return _stream.open_payload(src, dst, file_key, nonce)


def open_bytes(envelope: bytes, identities: Sequence[Identity]) -> bytes:
    return b"".join(open_chunks(io.BytesIO(envelope), identities))


@dataclass(frozen=True)
class EnvelopeFacts:
    """What anyone can learn from an envelope without a key."""

    stanza_types: tuple[str, ...]
    scrypt_work_factor: int | None
    header_size: int
    payload_size: int

    @property
    def plaintext_size(self) -> int:
        """Exact when the payload is well formed: each chunk adds a 16-byte tag."""
        body = max(self.payload_size - _stream.NONCE_SIZE, 0)
        chunks = max(1, -(-body // _stream.SEALED_CHUNK_SIZE))
        return max(body - chunks * 16, 0)


def inspect(src: BinaryIO) -> EnvelopeFacts:
    """Read the header (MAC unchecked) and measure the payload."""
    header = _header.read_header(src)
    work_factor = None
    for stanza in header.stanzas:
        if stanza.type == SCRYPT and len(stanza.args) == 2 and stanza.args[1].isdigit():
            work_factor = int(stanza.args[1])
    payload = 0
    while block := src.read(1 << 20):
        payload += len(block)
    return EnvelopeFacts(tuple(s.type for s in header.stanzas), work_factor, header.size, payload)


def _stanza_type(recipient: Recipient) -> str:
    if isinstance(recipient, HybridRecipient):
        return HYBRID
    if isinstance(recipient, X25519Recipient):
        return X25519
    raise ValueError("only X25519 and hybrid recipients can be checked without a key")


def fits_stream_framing(payload_size: int) -> bool:
    """Whether a payload of this size (nonce and sealed chunks) is one that STREAM can produce.

    Every chunk but the last is a full 64 KiB + tag; the last holds 1 to 64 KiB + tag, or is a
    bare tag when the whole plaintext is empty.
    """
    body = payload_size - _stream.NONCE_SIZE
    if body < TAG_SIZE:
        return False
    full, rest = divmod(body, _stream.SEALED_CHUNK_SIZE)
    return rest == 0 or rest > TAG_SIZE or (full == 0 and rest == TAG_SIZE)


def check_unverified_prefix(prefix: bytes, total_size: int, recipients: Sequence[Recipient]) -> int | None:
    """Check, with no key, the first bytes of an envelope that will be `total_size` bytes long.

    For a server that stores envelopes sealed elsewhere (a source's browser): the bytes must
    start a well-formed age v1 header with exactly one stanza per recipient, of each recipient's
    type, and the size left after the header must fit STREAM framing. Returns the header's size
    once the header is complete, None while more bytes are needed; raises HeaderError at the
    first byte that rules the envelope out. The header MAC and the payload stay unverified:
    only a recipient's identity can check them.
    """
    expected = sorted(_stanza_type(recipient) for recipient in recipients)
    version = _header.VERSION_LINE
    if not prefix.startswith(version[: len(prefix)]):
        raise HeaderError("not an age v1 envelope")
    mac_line = prefix.find(b"\n" + _header.MAC_PREFIX + b" ")
    end = prefix.find(b"\n", mac_line + 1) if mac_line >= 0 else -1
    if end < 0:
        if len(prefix) >= min(total_size, _header.MAX_HEADER_SIZE):
            raise HeaderError("header is truncated or too large")
        return None
    header = _header.read_header(io.BytesIO(prefix[: end + 1]))
    if sorted(stanza.type for stanza in header.stanzas) != expected:
        raise HeaderError("the header's stanzas do not match the recipients")
    if not fits_stream_framing(total_size - header.size):
        raise HeaderError("the size does not fit the payload's framing")
    return header.size


def max_sealed_size(plaintext_size: int) -> int:
    """The largest envelope that holds `plaintext_size` bytes: the largest header, the nonce and
    a tag per chunk. A bound for a server that takes envelopes sealed elsewhere."""
    chunks = max(1, -(-plaintext_size // _stream.CHUNK_SIZE))
    return _header.MAX_HEADER_SIZE + _stream.NONCE_SIZE + plaintext_size + chunks * TAG_SIZE
