"""A strict ustar subset for bundles: regular files only, flat names, no timestamps, zero padding.

Written and read by our own code rather than tarfile so that every byte of a bundle is checked:
header checksums, zero padding, and an exact end, so a flipped bit anywhere is caught.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from crypto.errors import BundleError

BLOCK = 512
MAX_MEMBER_SIZE = 8**11 - 1  # the ustar size field: 11 octal digits
_NAME = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_END = bytes(2 * BLOCK)
_SIZE = re.compile(rb"[0-7]{11}\x00")


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\x00" % (width - 1, value)


def member_header(name: str, size: int) -> bytes:
    raw = name.encode("ascii")
    if not _NAME.fullmatch(raw) or size > MAX_MEMBER_SIZE:
        raise ValueError("bad member name or size")
    header = bytearray(BLOCK)
    header[0 : len(raw)] = raw
    header[100:108] = _octal(0o644, 8)
    header[108:116] = _octal(0, 8)
    header[116:124] = _octal(0, 8)
    header[124:136] = _octal(size, 12)
    header[136:148] = _octal(0, 12)  # mtime 0: a bundle records no time of day
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def padding(size: int) -> bytes:
    return bytes(-size % BLOCK)


def end_of_archive() -> bytes:
    return _END


@dataclass(frozen=True)
class Member:
    name: str
    size: int


def _parse_header(block: bytes) -> Member:
    checksum = sum(block[:148]) + 8 * 32 + sum(block[156:])
    if block[148:156] != b"%06o\x00 " % checksum:  # exactly as written: no lenient parsing
        raise BundleError("bundle is malformed: a tar header checksum fails")
    if not _SIZE.fullmatch(block[124:136]):
        raise BundleError("bundle is malformed: a tar header is damaged")
    size = int(block[124:135], 8)
    if block[156:157] not in (b"0", b"\x00"):
        raise BundleError("bundle holds something other than regular files (a link or device)")
    raw_name = block[0:100].rstrip(b"\x00")
    if block[345:500].strip(b"\x00") or not _NAME.fullmatch(raw_name):
        raise BundleError("bundle holds a member with a path or a name that is not allowed")
    return Member(raw_name.decode("ascii"), size)


def _read_exact(src: BinaryIO, size: int) -> bytes:
    data = src.read(size)
    while len(data) < size:
        more = src.read(size - len(data))
        if not more:
            raise BundleError("bundle is truncated")
        data += more
    return data


class TarReader:
    """Reads members in order; the caller must consume each member's data before the next."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._remaining = 0
        self._padding = 0
        self._done = False

    def members(self) -> Iterator[Member]:
        while True:
            if self._remaining:
                raise RuntimeError("previous member not fully read")
            if self._padding and _read_exact(self._src, self._padding) != bytes(self._padding):
                raise BundleError("bundle is malformed: padding is not zero")
            block = _read_exact(self._src, BLOCK)
            if block == bytes(BLOCK):
                if _read_exact(self._src, BLOCK) != bytes(BLOCK) or self._src.read(1):
                    raise BundleError("bundle is malformed: bytes after the end of the archive")
                self._done = True
                return
            member = _parse_header(block)
            self._remaining, self._padding = member.size, -member.size % BLOCK
            yield member

    def read(self, size: int) -> bytes:
        """Read up to size bytes of the current member's data."""
        size = min(size, self._remaining)
        if size <= 0:
            return b""
        data = self._src.read(size)
        if not data:
            raise BundleError("bundle is truncated")
        self._remaining -= len(data)
        return data
