"""Bundles built by hand, byte by byte: manifest entries and documents as submission/export.py
writes them, sealed manifests, ustar members and headers our writer refuses to make, and where each
member of a bundle lies; for the tests of what an import refuses."""

import datetime
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto import _tar, seal_bytes
from crypto.bundle import encode_manifest
from crypto.signing import SigningKey
from crypto.x25519 import X25519Recipient
from submission.export import CONTEXT as EXPORT_CONTEXT


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def manifest_entry(envelope: bytes, kind: str = "message", item: int = 0, **changes: Any) -> dict[str, Any]:
    """A manifest entry as submission/export.py writes it."""
    entry = {
        "sha256": sha256(envelope),
        "size": len(envelope),
        "kind": kind,
        "submission": "5" * 32,
        "item": item,
        "source": "a" * 32,
        "reply_recipient": "age1zvz06jf2zd4xl8kfyj8m5k7h7x5xt84dg7camee6xaam7nw92vzqhavn4g",
        "received": today(),
    }
    entry.update(changes)
    return entry


def manifest_document(
    key: SigningKey, receivers: Sequence[X25519Recipient], sequence: int, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    """The document layout of submission/export.py `_document`."""
    return {
        "format": "tamga-bundle/v1",
        "kind": "export",
        "sender": key.verify_key.key_id,
        "receivers": sorted(str(r) for r in receivers),
        "sequence": sequence,
        "created": today(),
        "envelopes": entries,
    }


def sealed_manifest(
    document: dict[str, Any],
    key: SigningKey,
    seal_to: Sequence[X25519Recipient],
    context: str = EXPORT_CONTEXT,
) -> tuple[str, bytes]:
    return encode_manifest(document, key, context, list(seal_to))


def tar_header(
    name: bytes, size: int, typeflag: bytes = b"0", prefix: bytes = b"", link: bytes = b""
) -> bytes:
    """A ustar header with a correct checksum, for names and types our writer refuses to make."""
    header = bytearray(_tar.member_header("x", size))
    header[0:100] = name.ljust(100, b"\x00")[:100]
    header[156:157] = typeflag
    header[157:257] = link.ljust(100, b"\x00")[:100]
    header[345:500] = prefix.ljust(155, b"\x00")[:155]
    return with_checksum(header)


def with_checksum(header: bytes | bytearray) -> bytes:
    header = bytearray(header)
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def member(name: str, data: bytes) -> bytes:
    return _tar.member_header(name, len(data)) + data + _tar.padding(len(data))


def raw_member(header: bytes, data: bytes) -> bytes:
    return header + data + _tar.padding(len(data))


def tar(*members: bytes, end: bytes = _tar.end_of_archive()) -> bytes:
    return b"".join(members) + end


@dataclass(frozen=True)
class Layout:
    """Where one member of a bundle lies: its header block, its data, its zero padding."""

    name: str
    header: int
    data: int
    size: int

    @property
    def padding(self) -> int:
        return self.data + self.size

    @property
    def padding_size(self) -> int:
        return -self.size % 512


def tar_layout(bundle: bytes) -> tuple[list[Layout], int]:
    """Members of a bundle and the offset of its end-of-archive blocks."""
    members, offset = [], 0
    while bundle[offset : offset + 512] != bytes(512):
        block = bundle[offset : offset + 512]
        size = int(block[124:136].rstrip(b"\x00"), 8)
        name = block[:100].rstrip(b"\x00").decode()
        members.append(Layout(name, offset, offset + 512, size))
        offset += 512 + size + (-size % 512)
    return members, offset


def flip(data: bytes, offset: int, bit: int = 0) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 1 << bit
    return bytes(changed)


def random_file_bundle(
    path: Path, key: SigningKey, recipient: Any, base_size: int, files: int = 3
) -> list[bytes]:
    """Write to `path` a signed bundle (sequence 1) of `files` file envelopes sealed to `recipient`, the
    n-th of base_size + n bytes seeded by n; return the envelopes."""
    contents = [random.Random(n).randbytes(base_size + n) for n in range(files)]
    sealed = [seal_bytes(content, [recipient]) for content in contents]
    entries = [manifest_entry(e, kind="file-content", item=n + 1) for n, e in enumerate(sealed)]
    name, data = sealed_manifest(manifest_document(key, [recipient], 1, entries), key, [recipient])
    path.write_bytes(tar(member(name, data), *[member(sha256(e) + ".age", e) for e in sealed]))
    return sealed
