"""A source's reply key, derived from the codename with Argon2id; the codename itself is never stored.

Warning: the codename and the identity derived here are secrets. Parameters are versioned:
changing them would lock every existing source out of their replies.
"""

import hashlib

import nacl.pwhash

from crypto.x25519 import X25519Identity

KDF_VERSION = "argon2id-v1"
OPSLIMIT = 3
MEMLIMIT = 64 * 1024 * 1024
SALT_SIZE = nacl.pwhash.argon2id.SALTBYTES


def normalise_codename(text: str) -> str:
    """Lower case, single spaces: what a person types back is what they were shown."""
    return " ".join(text.lower().split())


def derive_reply_identity(codename: str, salt: bytes) -> X25519Identity:
    """The source's X25519 identity. Costs 64 MiB and a fraction of a second by design."""
    if len(salt) != SALT_SIZE:
        raise ValueError(f"salt must be {SALT_SIZE} bytes")
    secret = nacl.pwhash.argon2id.kdf(
        32, normalise_codename(codename).encode("utf-8"), salt, opslimit=OPSLIMIT, memlimit=MEMLIMIT
    )
    return X25519Identity(secret)


def source_id(identity: X25519Identity) -> str:
    """A public id for the source, derived from its reply recipient."""
    return hashlib.sha256(b"tamga/source-id/v1" + identity.recipient.public_key).hexdigest()[:32]
