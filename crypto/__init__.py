"""Tamga's sealed envelopes: age v1 with X25519 recipients, on PyNaCl.

Seal to recipients (public), open with identities (secret). See crypto/FORMAT.md.
"""

from crypto.envelope import (
    EnvelopeFacts,
    Identity,
    Recipient,
    Sealer,
    inspect,
    open_bytes,
    open_chunks,
    open_stream,
    seal_bytes,
    seal_stream,
)
from crypto.errors import (
    CryptoError,
    HeaderError,
    HeaderMACError,
    KeyFormatError,
    NoIdentityMatchError,
    PayloadError,
    SignatureError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from crypto.scrypt import ScryptIdentity, ScryptRecipient
from crypto.x25519 import X25519Identity, X25519Recipient

__all__ = [
    "CryptoError",
    "EnvelopeFacts",
    "HeaderError",
    "HeaderMACError",
    "Identity",
    "KeyFormatError",
    "NoIdentityMatchError",
    "PayloadError",
    "Recipient",
    "ScryptIdentity",
    "ScryptRecipient",
    "Sealer",
    "SignatureError",
    "WeakPassphraseError",
    "WrongPassphraseError",
    "X25519Identity",
    "X25519Recipient",
    "inspect",
    "open_bytes",
    "open_chunks",
    "open_stream",
    "seal_bytes",
    "seal_stream",
]
