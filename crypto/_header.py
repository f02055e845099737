"""The age v1 header: stanzas, their canonical text form, and the header MAC."""

import hashlib
import hmac
from dataclasses import dataclass
from typing import BinaryIO

from crypto._primitives import b64decode, b64encode, hkdf_sha256
from crypto.errors import HeaderError, HeaderMACError

VERSION_LINE = b"age-encryption.org/v1\n"
MAC_PREFIX = b"---"
_BODY_COLUMNS = 64
_MAX_LINE = 8192
MAX_HEADER_SIZE = 256 * 1024  # far above any real header; bounds memory on hostile input
MAX_STANZAS = 256


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: a type, its arguments and a binary body."""

    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        body = b64encode(self.body)
        lines = [body[i : i + _BODY_COLUMNS] for i in range(0, len(body), _BODY_COLUMNS)]
        if not lines or len(lines[-1]) == _BODY_COLUMNS:
            lines.append(b"")  # a stanza always ends with a short line
        head = " ".join((self.type, *self.args)).encode("ascii")
        return b"-> " + head + b"\n" + b"".join(line + b"\n" for line in lines)


@dataclass(frozen=True)
class Header:
    """A parsed header whose MAC has not been checked yet (see verify_mac)."""

    stanzas: tuple[Stanza, ...]
    mac: bytes
    signed_bytes: bytes  # everything the MAC covers: up to and including "---"

    @property
    def size(self) -> int:
        return len(self.signed_bytes) + 1 + len(b64encode(self.mac)) + 1


def _mac_key(file_key: bytes) -> bytes:
    return hkdf_sha256(file_key, b"", b"header")


def encode_header(stanzas: list[Stanza], file_key: bytes) -> bytes:
    signed = VERSION_LINE + b"".join(s.encode() for s in stanzas) + MAC_PREFIX
    mac = hmac.new(_mac_key(file_key), signed, hashlib.sha256).digest()
    return signed + b" " + b64encode(mac) + b"\n"


def verify_mac(header: Header, file_key: bytes) -> None:
    expected = hmac.new(_mac_key(file_key), header.signed_bytes, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, header.mac):
        raise HeaderMACError()


def _is_argument(word: bytes) -> bool:
    return bool(word) and all(33 <= c <= 126 for c in word)


class _LineReader:
    """Reads LF-terminated lines, refusing over-long lines and over-large headers."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self.consumed = bytearray()

    def line(self) -> bytes:
        line = self._src.readline(_MAX_LINE)
        self.consumed += line
        if len(self.consumed) > MAX_HEADER_SIZE:
            raise HeaderError("header is too large")
        if not line.endswith(b"\n"):
            raise HeaderError("header is truncated or has an over-long line")
        return line[:-1]


def _read_stanza(reader: _LineReader, first: bytes) -> Stanza:
    words = first[3:].split(b" ")
    if not all(_is_argument(w) for w in words):
        raise HeaderError("malformed stanza arguments")
    body = b""
    while True:
        line = reader.line()
        if len(line) > _BODY_COLUMNS:
            raise HeaderError("stanza body line is longer than 64 columns")
        body += line
        if len(line) < _BODY_COLUMNS:
            break
    try:
        decoded = b64decode(body)
    except ValueError:
        raise HeaderError("stanza body is not canonical base64") from None
    text = [w.decode("ascii") for w in words]
    return Stanza(text[0], tuple(text[1:]), decoded)


def read_header(src: BinaryIO) -> Header:
    """Parse a header from src, leaving src at the payload nonce."""
    reader = _LineReader(src)
    first = src.readline(len(VERSION_LINE))
    reader.consumed += first
    if first != VERSION_LINE:
        if first.startswith(b"age-encryption.org/"):
            raise HeaderError("unsupported age version")
        raise HeaderError("not an age v1 envelope")
    stanzas: list[Stanza] = []
    while True:
        line = reader.line()
        if line.startswith(b"-> "):
            if len(stanzas) >= MAX_STANZAS:
                raise HeaderError("too many recipient stanzas")
            stanzas.append(_read_stanza(reader, line))
        elif line.startswith(MAC_PREFIX + b" "):
            break
        else:
            raise HeaderError("malformed header line")
    if not stanzas:
        raise HeaderError("header has no recipient stanza")
    encoded_mac = line[len(MAC_PREFIX) + 1 :]
    try:
        mac = b64decode(encoded_mac)
    except ValueError:
        raise HeaderError("header MAC is not canonical base64") from None
    if len(mac) != 32:
        raise HeaderError("header MAC has the wrong length")
    signed = bytes(reader.consumed[: -len(encoded_mac) - 2])
    return Header(tuple(stanzas), mac, signed)
