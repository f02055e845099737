"""Checking an evidence package with only the station's public key: no station, no catalogue.

Everything `ssh-keygen -Y verify` and `sha256sum -c` check (the SSHSIG over SHA256SUMS, every
member's hash, nothing missing or added), and what they cannot: each custody record's own
signature, its place in the chain of hashes to the head, and that no event of a packaged item
was left out. The first fault found is the one-line reason of PackageRefused.
"""

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto import CryptoError, sshsig
from crypto._tar import TarReader
from crypto.errors import BundleError, KeyFormatError
from crypto.signing import VerifyKey, verify_document
from review import custody, package_format
from review.errors import ReviewError

_CONTROL = (*package_format.LISTED_CONTROL, package_format.SUMS, package_format.SIGNATURE)
_DIGEST = re.compile(r"[0-9a-f]{64}")


class PackageRefused(ReviewError):
    """An evidence package fails verification; the message names the first fault found."""


@dataclass
class Verified:
    key: bytes
    key_from_package: bool
    members: int
    items: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    chain: list[dict[str, Any]] = field(default_factory=list)
    includes_identifying_data: bool = False
    includes_messages: bool = False


def parse_key(text: str) -> bytes:
    """A tamgapub1... key, an `ssh-ed25519 AAAA...` key or an allowed_signers line."""
    if text.strip().lower().startswith("tamgapub1"):
        return VerifyKey.parse(text).public_key
    return sshsig.parse_public_key(text)


def _read_members(path: Path) -> tuple[dict[str, str], dict[str, int], dict[str, bytes]]:
    """(SHA-256, size) of every member; the small control files kept in memory."""
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}
    kept: dict[str, bytes] = {}
    try:
        with open(path, "rb") as src:
            reader = TarReader(src)
            for member in reader.members():
                if member.name in digests:
                    raise PackageRefused(f"the package holds {member.name} twice")
                if member.name in _CONTROL and member.size > package_format.MAX_CONTROL_SIZE:
                    raise PackageRefused(f"{member.name} is too large for a package's control file")
                digest, parts = hashlib.sha256(), []
                while block := reader.read(1 << 20):
                    digest.update(block)
                    if member.name in _CONTROL:
                        parts.append(block)
                digests[member.name], sizes[member.name] = digest.hexdigest(), member.size
                if member.name in _CONTROL:
                    kept[member.name] = b"".join(parts)
    except BundleError as error:
        raise PackageRefused(
            f"the package is not a valid archive: {error}".replace("bundle", "archive")
        ) from None
    return digests, sizes, kept


def _check_signature(kept: dict[str, bytes], key: bytes | None) -> tuple[bytes, bool]:
    for name in (package_format.SUMS, package_format.SIGNATURE):
        if name not in kept:
            raise PackageRefused(f"the package has no {name}")
    from_package = key is None
    if key is None:
        if package_format.ALLOWED_SIGNERS not in kept:
            raise PackageRefused(f"the package has no {package_format.ALLOWED_SIGNERS}: give --key")
        try:
            key = sshsig.parse_public_key(kept[package_format.ALLOWED_SIGNERS].decode("utf-8", "replace"))
        except KeyFormatError as error:
            raise PackageRefused(f"{package_format.ALLOWED_SIGNERS}: {error}") from None
    try:
        sshsig.verify(
            kept[package_format.SIGNATURE], package_format.NAMESPACE, kept[package_format.SUMS], key
        )
    except CryptoError as error:
        raise PackageRefused(f"{package_format.SIGNATURE}: {error}") from None
    return key, from_package


def _check_members(digests: dict[str, str], kept: dict[str, bytes]) -> dict[str, str]:
    try:
        listed = package_format.parse_sums(kept[package_format.SUMS])
    except ValueError as error:
        raise PackageRefused(str(error)) from None
    for name, digest in listed.items():
        if name not in digests:
            raise PackageRefused(f"{name} is listed in {package_format.SUMS} but missing from the package")
        if digests[name] != digest:
            raise PackageRefused(
                f"{name} does not match its SHA-256 in {package_format.SUMS}: it was changed"
            )
    for name in digests:
        if name not in listed and name not in (package_format.SUMS, package_format.SIGNATURE):
            raise PackageRefused(f"the package holds {name}, which {package_format.SUMS} does not list")
    for name in package_format.LISTED_CONTROL:
        if name not in listed:
            raise PackageRefused(f"the package has no {name}")
    return listed


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _check_items(
    manifest: dict[str, Any], listed: dict[str, str], sizes: dict[str, int]
) -> list[dict[str, Any]]:
    entries = manifest["items"]
    files = [entry["file"] for entry in entries]
    for entry in entries:
        name = entry["file"]
        if not package_format.is_item_file(name) or name not in listed:
            raise PackageRefused(f"item {entry['id']}'s file {name!r} is not in the package")
        if entry["sha256"] != listed[name] or entry["size"] != sizes[name]:
            raise PackageRefused(f"item {entry['id']}: {name} is not the file the manifest describes")
    extra = sorted(set(listed) - set(files) - set(package_format.LISTED_CONTROL))
    if extra or len(set(files)) != len(files):
        raise PackageRefused(f"the manifest does not describe {', '.join(extra) or 'each file once'}")
    return list(entries)


def _check_chain(chain: list[dict[str, Any]], head: str) -> dict[int, dict[str, Any]]:
    if not chain or chain[-1]["hash"] != head:
        raise PackageRefused("the custody chain in the manifest does not end at its head")
    for before, after in itertools.pairwise(chain):
        if after["seq"] != before["seq"] + 1:
            raise PackageRefused(f"the custody chain skips from event {before['seq']} to {after['seq']}")
    for entry in chain:
        if not isinstance(entry["seq"], int) or not _DIGEST.fullmatch(entry["hash"]):
            raise PackageRefused("the custody chain in the manifest is malformed")
    return {entry["seq"]: entry for entry in chain}


def _check_custody(excerpt: dict[str, Any], key: bytes, entries: list[dict[str, Any]]) -> int:
    by_seq = _check_chain(excerpt["chain"], excerpt["head"])
    objects = {f"item:{entry['id']}": entry for entry in entries}
    seen: dict[int, dict[str, Any]] = {}
    last = 0
    for text in excerpt["records"]:
        data = text.encode("utf-8")
        try:
            _, body = verify_document(data, custody.CONTEXT, [VerifyKey(key)])
        except CryptoError:
            raise PackageRefused(
                "a custody record's signature does not verify with the station's key"
            ) from None
        seq = body["seq"]
        if not isinstance(seq, int) or seq <= last:
            raise PackageRefused(f"custody records are out of order: event {seq} comes after {last}")
        link = by_seq.get(seq)
        if (
            link is None
            or link["hash"] != hashlib.sha256(data).hexdigest()
            or link["object"] != body["object"]
        ):
            raise PackageRefused(f"custody event {seq} is not the one at its place in the chain")
        if body["object"] not in objects:
            raise PackageRefused(
                f"custody event {seq} is about {body['object']}, not an item of this package"
            )
        if seq - 1 in by_seq and body["prev"] != by_seq[seq - 1]["hash"]:
            raise PackageRefused(f"custody event {seq} does not follow event {seq - 1} of the chain")
        seen[seq], last = body, seq
    if not seen or min(seen) != min(by_seq):
        raise PackageRefused("the custody chain does not start at the first record of these items")
    for seq, link in by_seq.items():
        if link["object"] in objects and seq not in seen:
            raise PackageRefused(f"custody event {seq} of {link['object']} is missing from the manifest")
    by_id = {entry["id"]: entry for entry in entries}
    for entry in entries:
        origin = [
            body
            for body in seen.values()
            if body["object"] == f"item:{entry['id']}" and body["action"] in ("imported", "derived")
        ]
        if not origin or origin[0]["hashes"].get("content_sha256") != entry["sha256"]:
            raise PackageRefused(f"item {entry['id']}: no signed import record names its SHA-256")
        if origin[0]["action"] == "derived" or entry.get("derived_from") is not None:
            _check_derivation(entry, origin[0], by_id)
    return len(seen)


def _check_derivation(entry: dict[str, Any], record: dict[str, Any], by_id: dict[int, Any]) -> None:
    """A working copy: its signed `derived` record names its original, and that original's hash."""
    if record["action"] != "derived" or record["details"].get("from") != entry.get("derived_from"):
        raise PackageRefused(f"item {entry['id']}: its signed records do not say which item it was made from")
    original = by_id.get(entry["derived_from"])
    if original is not None and record["hashes"].get("original_content_sha256") != original["sha256"]:
        raise PackageRefused(
            f"item {entry['id']}: it was made from another file than item {original['id']} in this package"
        )


def verify_package(path: Path, key: bytes | None = None) -> Verified:
    """Check a package; with key None, trust the package's own allowed_signers (say so to the user)."""
    digests, sizes, kept = _read_members(path)
    key, from_package = _check_signature(kept, key)
    listed = _check_members(digests, kept)
    try:
        manifest = json.loads(kept[package_format.MANIFEST].decode("utf-8"), object_pairs_hook=_no_duplicates)
        if manifest["format"] != package_format.FORMAT:
            raise PackageRefused(f"{package_format.MANIFEST} is not a {package_format.FORMAT} manifest")
        if VerifyKey.parse(manifest["station"]["verify_key"]).public_key != key:
            raise PackageRefused(f"{package_format.MANIFEST} names another station key than the signer's")
        entries = _check_items(manifest, listed, sizes)
        records = _check_custody(manifest["custody"], key, entries)
        return Verified(
            key,
            from_package,
            len(digests),
            entries,
            records,
            manifest["custody"]["chain"],
            manifest["includes_identifying_data"] is True,
            manifest["includes_messages"] is True,
        )
    except (KeyError, TypeError, ValueError, AttributeError, KeyFormatError, RecursionError):
        raise PackageRefused(f"{package_format.MANIFEST} is malformed") from None
