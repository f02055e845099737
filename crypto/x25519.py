"""X25519 recipients (age1...) and identities (AGE-SECRET-KEY-1...), the same keys as NaCl's box."""

import os

from nacl import bindings

from crypto import _bech32
from crypto._header import Stanza
from crypto._primitives import b64decode, b64encode, hkdf_sha256, unwrap_key, wrap_key
from crypto.errors import HeaderError, KeyFormatError

_RECIPIENT_HRP = "age"
_IDENTITY_HRP = "age-secret-key-"
_LABEL = b"age-encryption.org/v1/X25519"
STANZA_TYPE = "X25519"


class X25519Recipient:
    """A public key that envelopes are sealed to."""

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != 32:
            raise KeyFormatError("an X25519 recipient is 32 bytes")
        self.public_key = public_key

    @classmethod
    def parse(cls, text: str) -> "X25519Recipient":
        try:
            return cls(_bech32.decode_key(text, _RECIPIENT_HRP, secret=False))
        except ValueError:
            raise KeyFormatError("malformed recipient: expected an age1... string") from None

    def __str__(self) -> str:
        return _bech32.encode_key(_RECIPIENT_HRP, self.public_key, secret=False)

    def __repr__(self) -> str:
        return f"X25519Recipient({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Recipient) and other.public_key == self.public_key

    def __hash__(self) -> int:
        return hash(self.public_key)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral = os.urandom(32)
        share = bindings.crypto_scalarmult_base(ephemeral)
        shared = bindings.crypto_scalarmult(ephemeral, self.public_key)
        key = hkdf_sha256(shared, share + self.public_key, _LABEL)
        return [Stanza(STANZA_TYPE, (b64encode(share).decode(),), wrap_key(key, file_key))]


class X25519Identity:
    """A private key. Warning: holds secret material; it never appears in repr or str."""

    def __init__(self, secret_key: bytes) -> None:
        if len(secret_key) != 32:
            raise KeyFormatError("an X25519 identity is 32 bytes")
        self._secret = secret_key
        self.recipient = X25519Recipient(bindings.crypto_scalarmult_base(secret_key))

    @classmethod
    def generate(cls) -> "X25519Identity":
        return cls(os.urandom(32))

    @classmethod
    def parse(cls, text: str) -> "X25519Identity":
        try:
            return cls(_bech32.decode_key(text, _IDENTITY_HRP, secret=True))
        except ValueError:
            raise KeyFormatError("malformed identity: expected an AGE-SECRET-KEY-1... string") from None

    def to_text(self) -> str:
        """The AGE-SECRET-KEY-1... form. Warning: this is the secret key."""
        return _bech32.encode_key(_IDENTITY_HRP, self._secret, secret=True)

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={self.recipient})"

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        """Return the file key if a stanza is ours; raise HeaderError on a malformed X25519 stanza."""
        for stanza in stanzas:
            if stanza.type != STANZA_TYPE:
                continue
            if len(stanza.args) != 1:
                raise HeaderError("X25519 stanza has the wrong number of arguments")
            try:
                share = b64decode(stanza.args[0].encode("ascii"))
            except ValueError:
                raise HeaderError("X25519 share is not canonical base64") from None
            if len(share) != 32:
                raise HeaderError("X25519 share has the wrong length")
            if len(stanza.body) != 32:
                raise HeaderError("X25519 stanza body has the wrong length")
            try:
                shared = bindings.crypto_scalarmult(self._secret, share)
            except Exception:  # libsodium refuses a low-order point
                raise HeaderError("X25519 share is a low-order point") from None
            if shared == bytes(32):
                raise HeaderError("X25519 share is a low-order point")
            key = hkdf_sha256(shared, share + self.recipient.public_key, _LABEL)
            file_key = unwrap_key(key, stanza.body)
            if file_key is not None:
                return file_key
        return None
