"""The public age conformance suite (C2SP/CCTV), read in place from ../shared/testdata/cctv-age/."""

import hashlib
import io
import zlib
from pathlib import Path

import pytest

import crypto

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "cctv-age"
SKIPPED = {
    "armor": "ASCII armor is not implemented: Tamga writes and reads binary envelopes only",
}
CATEGORIES = {
    crypto.NoIdentityMatchError: "no match",
    crypto.HeaderMACError: "HMAC failure",
    crypto.HeaderError: "header failure",
    crypto.PayloadError: "payload failure",
}


def _vector_names() -> list[str]:
    return sorted(p.name for p in VECTORS.iterdir() if p.name != "README.md")


def _load(name: str) -> tuple[dict[str, str], list[crypto.Identity], bytes]:
    header, _, body = (VECTORS / name).read_bytes().partition(b"\n\n")
    meta: dict[str, str] = {}
    identities: list[crypto.Identity] = []
    for line in header.decode().splitlines():
        key, _, value = line.partition(": ")
        if key == "identity":
            identities.append(crypto.parse_identity(value))
        elif key == "passphrase":
            identities.append(crypto.ScryptIdentity(value))
        else:
            meta[key] = value
    if meta.get("compressed") == "zlib":
        body = zlib.decompress(body)
    return meta, identities, body


def test_the_suite_is_present() -> None:
    assert len(_vector_names()) >= 142


@pytest.mark.parametrize("name", _vector_names())
def test_vector(name: str) -> None:
    for prefix, reason in SKIPPED.items():
        if name.startswith(prefix):
            pytest.skip(reason)
    meta, identities, body = _load(name)
    released = hashlib.sha256()
    outcome = "success"
    try:
        for chunk in crypto.open_chunks(io.BytesIO(body), identities):
            released.update(chunk)
    except crypto.CryptoError as error:
        outcome = next(label for kind, label in CATEGORIES.items() if isinstance(error, kind))
    assert outcome == meta["expect"]
    if "payload" in meta:
        assert released.hexdigest() == meta["payload"]
