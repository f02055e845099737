"""Transfer bundles: what crosses the air gap, in either direction.

A bundle is a strict tar (crypto/_tar.py): first a manifest, then one member per envelope named
`<sha256-of-ciphertext>.age`. The manifest is a signed document under a context string, sealed
to the receiver's recipients when the receiver has any (station-bound bundles). Full format in
docs/bundle-format.md.
"""

import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from crypto import _tar
from crypto.envelope import Identity, Recipient, open_bytes, seal_bytes
from crypto.errors import BundleError, CryptoError
from crypto.overlap import Worker
from crypto.signing import SigningKey, VerifyKey, sign_document, verify_document

FORMAT = "tamga-bundle/v1"
SEALED_MANIFEST = "manifest.age"
PLAIN_MANIFEST = "manifest.json"
MAX_MANIFEST_SIZE = 64 * 1024 * 1024
ENVELOPE_NAME = re.compile(r"[0-9a-f]{64}\.age")
COPY_SIZE = 1024 * 1024


def tar_size(manifest_size: int, member_sizes: Iterable[int]) -> int:
    """The exact size of a bundle: for splitting exports under a size limit."""
    sizes = [manifest_size, *member_sizes]
    return sum(_tar.BLOCK + size + (-size % _tar.BLOCK) for size in sizes) + 2 * _tar.BLOCK


def sealed_manifest_size(document_size: int, recipients: int, post_quantum: bool = False) -> int:
    """An upper bound on the sealed manifest's size, for splitting (a hybrid stanza is ~1.6 KB)."""
    stanza = 1700 if post_quantum else 150
    return document_size + 16 * (document_size // 65536 + 1) + 200 + stanza * recipients


def encode_manifest(
    document: dict[str, Any], key: SigningKey, context: str, seal_to: Sequence[Recipient]
) -> tuple[str, bytes]:
    signed = sign_document(key, context, document)
    if seal_to:
        return SEALED_MANIFEST, seal_bytes(signed, seal_to)
    return PLAIN_MANIFEST, signed


def write_bundle(dst: BinaryIO, manifest: tuple[str, bytes], envelopes: Iterable[tuple[str, Path]]) -> None:
    """Write the manifest, then each (name, path) envelope, streamed."""
    name, data = manifest
    dst.write(_tar.member_header(name, len(data)) + data + _tar.padding(len(data)))
    for member_name, path in envelopes:
        with open(path, "rb") as src:
            size = src.seek(0, io.SEEK_END)
            src.seek(0)
            dst.write(_tar.member_header(member_name, size))
            copied = 0
            while block := src.read(COPY_SIZE):
                dst.write(block)
                copied += len(block)
            if copied != size:
                raise OSError(f"{path} changed while it was being written to a bundle")
        dst.write(_tar.padding(size))
    dst.write(_tar.end_of_archive())


@dataclass(frozen=True)
class Manifest:
    """A manifest whose signature verified: who signed it, what it says, and its digest."""

    signer: VerifyKey
    document: dict[str, Any]
    digest: str  # SHA-256 of the signed document: the bundle's identity for idempotence


class BundleReader:
    """Read a bundle: the manifest first (verified), then its envelopes, each checked on the way."""

    def __init__(self, src: BinaryIO) -> None:
        self._tar = _tar.TarReader(src)
        self._members = self._tar.members()

    def manifest(
        self, context: str, trusted: Iterable[VerifyKey], identities: Sequence[Identity] = ()
    ) -> Manifest:
        member = next(self._members, None)
        expected = SEALED_MANIFEST if identities else PLAIN_MANIFEST
        if member is None or member.name != expected:
            raise BundleError(f"bundle does not begin with its manifest ({expected})")
        if member.size > MAX_MANIFEST_SIZE:
            raise BundleError("bundle manifest is too large")
        data = self._read_all(member.size)
        if identities:
            try:
                data = open_bytes(data, identities)
            except CryptoError:
                raise BundleError(
                    "bundle manifest does not open with this station's key: "
                    "it is for another station, or damaged"
                ) from None
        try:
            signer, document = verify_document(data, context, trusted)
        except CryptoError as error:
            raise BundleError(f"bundle manifest refused: {error}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise BundleError("bundle manifest is not a tamga-bundle/v1 manifest")
        return Manifest(signer, document, hashlib.sha256(data).hexdigest())

    def _read_all(self, size: int) -> bytes:
        parts = []
        while size:
            block = self._tar.read(min(size, COPY_SIZE))
            parts.append(block)
            size -= len(block)
        return b"".join(parts)

    def envelopes(
        self, expected: dict[str, int], hasher: Worker | None = None
    ) -> Iterator[tuple[str, "MemberStream"]]:
        """Yield (sha256, stream) per member; every name and size must match `expected` exactly.

        With a `hasher`, each member's SHA-256 runs on its thread (see MemberStream)."""
        seen: set[str] = set()
        for member in self._members:
            if not ENVELOPE_NAME.fullmatch(member.name):
                raise BundleError(f"bundle member {member.name!r} is not an envelope name")
            digest = member.name[:-4]
            if digest in seen:
                raise BundleError("bundle holds the same member twice")
            if digest not in expected:
                raise BundleError("bundle holds a member that its manifest does not list")
            if member.size != expected[digest]:
                raise BundleError("bundle member size does not match its manifest")
            seen.add(digest)
            stream = MemberStream(self._tar, digest, hasher)
            yield digest, stream
            stream.finish()
        missing = set(expected) - seen
        if missing:
            raise BundleError(f"bundle is missing {len(missing)} envelope(s) its manifest lists")


class MemberStream:
    """One member's bytes, hashed as they are read; finish() checks the hash.

    With a `hasher` (a Worker), the hashing runs on its thread while the reader goes on: the
    station's import, whose reading thread also decrypts, gives one when a core is idle. The
    bytes read are never changed after (a new bytes per read), so hashing them later is safe.
    """

    def __init__(self, tar: _tar.TarReader, digest: str, hasher: Worker | None = None) -> None:
        self._tar = tar
        self._digest = digest
        self._hash = hashlib.sha256()
        self._hasher = hasher

    def read(self, size: int = COPY_SIZE) -> bytes:
        data = self._tar.read(size)
        if self._hasher is None:
            self._hash.update(data)
        else:
            self._hasher.submit(self._hash.update, data)
        return data

    def finish(self) -> None:
        while self.read():
            pass
        if self._hasher is not None:
            self._hasher.wait()
        if self._hash.hexdigest() != self._digest:
            raise BundleError("bundle envelope does not match its hash: it was altered or damaged")
