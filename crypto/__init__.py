"""Tamga's sealed envelopes: age v1 with hybrid post-quantum or X25519 recipients.

Seal to recipients (public), open with identities (secret). See crypto/FORMAT.md.
"""

from crypto.envelope import (
    EnvelopeFacts,
    Identity,
    Recipient,
    Sealer,
    check_recipients,
    check_unverified_prefix,
    inspect,
    max_sealed_size,
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
    RecipientMixError,
    SignatureError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from crypto.hybrid import HybridIdentity, HybridRecipient
from crypto.keys import (
    AnyIdentity,
    AnyRecipient,
    generate_identity,
    is_post_quantum,
    parse_identity,
    parse_recipient,
)
from crypto.scrypt import ScryptIdentity, ScryptRecipient
from crypto.seekable import SeekableEnvelope, open_seekable
from crypto.x25519 import X25519Identity, X25519Recipient

__all__ = [
    "AnyIdentity",
    "AnyRecipient",
    "CryptoError",
    "EnvelopeFacts",
    "HeaderError",
    "HeaderMACError",
    "HybridIdentity",
    "HybridRecipient",
    "Identity",
    "KeyFormatError",
    "NoIdentityMatchError",
    "PayloadError",
    "Recipient",
    "RecipientMixError",
    "ScryptIdentity",
    "ScryptRecipient",
    "Sealer",
    "SeekableEnvelope",
    "SignatureError",
    "WeakPassphraseError",
    "WrongPassphraseError",
    "X25519Identity",
    "X25519Recipient",
    "check_recipients",
    "check_unverified_prefix",
    "generate_identity",
    "inspect",
    "is_post_quantum",
    "max_sealed_size",
    "open_bytes",
    "open_chunks",
    "open_seekable",
    "open_stream",
    "parse_identity",
    "parse_recipient",
    "seal_bytes",
    "seal_stream",
]
