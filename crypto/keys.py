"""Recipient and identity strings of either kind, classic X25519 or hybrid post-quantum, by prefix."""

from crypto.hybrid import HybridIdentity, HybridRecipient
from crypto.x25519 import X25519Identity, X25519Recipient

AnyRecipient = X25519Recipient | HybridRecipient
AnyIdentity = X25519Identity | HybridIdentity


def parse_recipient(text: str) -> AnyRecipient:
    """An age1pq1... (hybrid) or age1... (X25519) string; KeyFormatError on anything else."""
    if text.strip().lower().startswith("age1pq1"):
        return HybridRecipient.parse(text)
    return X25519Recipient.parse(text)


def parse_identity(text: str) -> AnyIdentity:
    """An AGE-SECRET-KEY-PQ-1... or AGE-SECRET-KEY-1... string. Warning: handles secret keys."""
    if text.strip().upper().startswith("AGE-SECRET-KEY-PQ-1"):
        return HybridIdentity.parse(text)
    return X25519Identity.parse(text)


def generate_identity(post_quantum: bool = True) -> AnyIdentity:
    """A new identity: hybrid post-quantum unless post_quantum is False. Warning: secret."""
    return HybridIdentity.generate() if post_quantum else X25519Identity.generate()


def is_post_quantum(key: AnyRecipient | AnyIdentity) -> bool:
    return isinstance(key, HybridRecipient | HybridIdentity)
