"""Ed25519 signing keys and signed JSON documents bound to a context string.

A signature made for one purpose (say `tamga/export/v1`) never verifies for another: the
context is part of the signed bytes. Documents are canonical JSON; duplicate keys are refused.
"""

import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import nacl.exceptions
import nacl.signing

from crypto import _bech32
from crypto.errors import KeyFormatError, SignatureError

_PUBLIC_HRP = "tamgapub"
_SECRET_HRP = "tamga-signing-key-"  # noqa: S105 (a Bech32 prefix, not a secret)
_DOMAIN = b"tamga/signed-document/v1\x00"
MAX_DOCUMENT_SIZE = 64 * 1024 * 1024


def fingerprint(public_key: bytes) -> str:
    """Eight groups of four hex digits of SHA-256, to compare a public key by phone."""
    digest = hashlib.sha256(public_key).hexdigest()[:32].upper()
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


class VerifyKey:
    """An Ed25519 public key, written tamgapub1..."""

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != 32:
            raise KeyFormatError("a verify key is 32 bytes")
        self.public_key = public_key

    @classmethod
    def parse(cls, text: str) -> "VerifyKey":
        try:
            return cls(_bech32.decode_key(text, _PUBLIC_HRP, secret=False))
        except ValueError:
            raise KeyFormatError("malformed verify key: expected a tamgapub1... string") from None

    def __str__(self) -> str:
        return _bech32.encode_key(_PUBLIC_HRP, self.public_key, secret=False)

    def __repr__(self) -> str:
        return f"VerifyKey({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other.public_key == self.public_key

    def __hash__(self) -> int:
        return hash(self.public_key)

    @property
    def key_id(self) -> str:
        """A short stable id for manifests and logs."""
        return hashlib.sha256(b"tamga/key-id/v1" + self.public_key).hexdigest()[:16]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def verify(self, context: str, message: bytes, signature: bytes) -> None:
        try:
            nacl.signing.VerifyKey(self.public_key).verify(_signed_bytes(context, message), signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            raise SignatureError(f"signature does not verify for {context}") from None


class SigningKey:
    """An Ed25519 private key. Warning: secret; never in repr."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyFormatError("a signing key seed is 32 bytes")
        self._key = nacl.signing.SigningKey(seed)
        self.verify_key = VerifyKey(bytes(self._key.verify_key))

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @classmethod
    def parse(cls, text: str) -> "SigningKey":
        try:
            return cls(_bech32.decode_key(text, _SECRET_HRP, secret=True))
        except ValueError:
            raise KeyFormatError("malformed signing key") from None

    def to_text(self) -> str:
        """The TAMGA-SIGNING-KEY-1... form. Warning: this is the secret key."""
        return _bech32.encode_key(_SECRET_HRP, bytes(self._key), secret=True)

    def __repr__(self) -> str:
        return f"SigningKey(verify_key={self.verify_key})"

    def sign(self, context: str, message: bytes) -> bytes:
        return self._key.sign(_signed_bytes(context, message)).signature

    def sign_sshsig(self, signed_data: bytes) -> bytes:
        """Raw Ed25519 over OpenSSH SSHSIG signed data (crypto/sshsig.py builds it).

        Safe beside sign(): SSHSIG data starts with "SSHSIG", ours with "tamga/signed-document".
        """
        if not signed_data.startswith(b"SSHSIG"):
            raise ValueError("only SSHSIG signed data is signed raw")
        return self._key.sign(signed_data).signature


def _signed_bytes(context: str, message: bytes) -> bytes:
    if not context or "\x00" in context:
        raise ValueError("a context string is required and may not hold NUL")
    return _DOMAIN + context.encode("utf-8") + b"\x00" + message


def canonical_json(document: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8; floats refused (they have no single canonical form)."""
    _refuse_floats(document)
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("floats are not allowed in signed documents")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_floats(item)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise SignatureError("document has a duplicate JSON key")
    return dict(pairs)


def parse_canonical_json(data: bytes) -> Any:
    """Parse JSON that must be in canonical form; anything else raises SignatureError."""
    if len(data) > MAX_DOCUMENT_SIZE:
        raise SignatureError("document is too large")
    try:
        document = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_float_refused,
            parse_constant=_float_refused,
        )
        canonical = canonical_json(document)
    except (UnicodeError, ValueError, RecursionError):
        raise SignatureError("document is not valid JSON") from None
    if canonical != data:
        raise SignatureError("document is not in canonical form")
    return document


def _float_refused(_: str) -> float:
    raise ValueError("float")


def sign_document(key: SigningKey, context: str, document: Any) -> bytes:
    """Return canonical JSON {context, document, signer, signature}."""
    body = {"context": context, "document": document, "signer": str(key.verify_key)}
    signature = key.sign(context, canonical_json(body))
    return canonical_json({**body, "signature": base64.b64encode(signature).decode()})


def verify_document(data: bytes, context: str, trusted: Iterable[VerifyKey]) -> tuple[VerifyKey, Any]:
    """Return (signer, document) when data is signed under context by a trusted key."""
    envelope = parse_canonical_json(data)
    if not isinstance(envelope, dict) or set(envelope) != {"context", "document", "signer", "signature"}:
        raise SignatureError("not a signed document")
    if envelope["context"] != context:
        raise SignatureError(f"document was signed for another purpose, not {context}")
    try:
        signer = VerifyKey.parse(str(envelope["signer"]))
        signature = base64.b64decode(str(envelope["signature"]), validate=True)
    except (KeyFormatError, ValueError):
        raise SignatureError("signed document is malformed") from None
    if signer not in set(trusted):
        raise SignatureError(f"signed by an untrusted key (fingerprint {signer.fingerprint})")
    body = {k: envelope[k] for k in ("context", "document", "signer")}
    signer.verify(context, canonical_json(body), signature)
    return signer, envelope["document"]
