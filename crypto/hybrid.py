"""Hybrid post-quantum recipients (age1pq1...) and identities (AGE-SECRET-KEY-PQ-1...), age v1.3.

The mlkem768x25519 stanza is HPKE (RFC 9180) SealBase with the MLKEM768-X25519 hybrid KEM,
HKDF-SHA256 and ChaCha20-Poly1305, all from pyca `cryptography`: ML-KEM-768 keeps an envelope
sealed against a future quantum computer, X25519 keeps it sealed if ML-KEM is ever broken.
"""

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from crypto import _bech32
from crypto._header import Stanza
from crypto._primitives import b64decode, b64encode
from crypto.errors import HeaderError, KeyFormatError

STANZA_TYPE = "mlkem768x25519"
_RECIPIENT_HRP = "age1pq"
_IDENTITY_HRP = "age-secret-key-pq-"
_INFO = b"age-encryption.org/mlkem768x25519"
_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
SEED_SIZE = 32
MLKEM_PUBLIC_SIZE = 1184
MLKEM_CIPHERTEXT_SIZE = 1088
PUBLIC_KEY_SIZE = MLKEM_PUBLIC_SIZE + 32
ENC_SIZE = hpke.KEM.MLKEM768_X25519.enc_length()  # 1120: ML-KEM ciphertext, then X25519 share
BODY_SIZE = 32  # the 16-byte file key and its tag


class HybridRecipient:
    """A post-quantum public key: an ML-KEM-768 encapsulation key and an X25519 point."""

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != PUBLIC_KEY_SIZE:
            raise KeyFormatError(f"a hybrid recipient is {PUBLIC_KEY_SIZE} bytes")
        try:
            pq = mlkem.MLKEM768PublicKey.from_public_bytes(public_key[:MLKEM_PUBLIC_SIZE])
            classic = x25519.X25519PublicKey.from_public_bytes(public_key[MLKEM_PUBLIC_SIZE:])
        except ValueError:
            raise KeyFormatError("malformed hybrid recipient: not a valid ML-KEM-768 key") from None
        self.public_key = public_key
        self._key = hpke.MLKEM768X25519PublicKey(pq, classic)
        self._text = ""  # the Bech32 form, ~2,000 characters: encoded once, on first use

    @classmethod
    def parse(cls, text: str) -> "HybridRecipient":
        try:
            data = _bech32.decode_key(text, _RECIPIENT_HRP, secret=False, size=PUBLIC_KEY_SIZE)
        except ValueError:
            raise KeyFormatError("malformed recipient: expected an age1pq1... string") from None
        return cls(data)

    def __str__(self) -> str:
        if not self._text:
            self._text = _bech32.encode_key(_RECIPIENT_HRP, self.public_key, secret=False)
        return self._text

    def __repr__(self) -> str:
        return f"HybridRecipient({str(self)[:24]}...)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HybridRecipient) and other.public_key == self.public_key

    def __hash__(self) -> int:
        return hash(self.public_key)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        sealed = _SUITE.encrypt(file_key, self._key, info=_INFO)
        enc, body = sealed[:ENC_SIZE], sealed[ENC_SIZE:]
        return [Stanza(STANZA_TYPE, (b64encode(enc).decode(),), body)]


def _expand(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    """The two private keys of a 32-byte seed, as the hpke-pq expandKey step defines them.

    cryptography's hybrid key takes the two halves, not the seed: SHAKE256 stretches the seed to
    a 64-byte ML-KEM seed (d || z) and a 32-byte X25519 scalar.
    """
    full = hashlib.shake_256(seed).digest(64 + 32)
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(full[:64]),
        x25519.X25519PrivateKey.from_private_bytes(full[64:]),
    )


class HybridIdentity:
    """A post-quantum private key (a 32-byte seed). Warning: secret; never in repr or str."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise KeyFormatError(f"a hybrid identity is {SEED_SIZE} bytes")
        self._seed = seed
        pq, classic = _expand(seed)
        self._classic = classic
        self._key = hpke.MLKEM768X25519PrivateKey(pq, classic)
        self.recipient = HybridRecipient(
            pq.public_key().public_bytes_raw() + classic.public_key().public_bytes_raw()
        )

    @classmethod
    def generate(cls) -> "HybridIdentity":
        return cls(os.urandom(SEED_SIZE))

    @classmethod
    def parse(cls, text: str) -> "HybridIdentity":
        try:
            return cls(_bech32.decode_key(text, _IDENTITY_HRP, secret=True))
        except ValueError:
            raise KeyFormatError("malformed identity: expected an AGE-SECRET-KEY-PQ-1... string") from None

    def to_text(self) -> str:
        """The AGE-SECRET-KEY-PQ-1... form. Warning: this is the secret key."""
        return _bech32.encode_key(_IDENTITY_HRP, self._seed, secret=True)

    def __repr__(self) -> str:
        return f"HybridIdentity(recipient={self.recipient!r})"

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        """Return the file key if a stanza is ours; raise HeaderError on a malformed hybrid stanza."""
        for stanza in stanzas:
            if stanza.type != STANZA_TYPE:
                continue
            if len(stanza.args) != 1:
                raise HeaderError("mlkem768x25519 stanza has the wrong number of arguments")
            try:
                enc = b64decode(stanza.args[0].encode("ascii"))
            except ValueError:
                raise HeaderError("mlkem768x25519 share is not canonical base64") from None
            if len(enc) != ENC_SIZE:
                raise HeaderError("mlkem768x25519 share has the wrong length")
            # Checked before decrypting, so a longer body cannot probe the key (partitioning oracle).
            if len(stanza.body) != BODY_SIZE:
                raise HeaderError("mlkem768x25519 stanza body has the wrong length")
            self._refuse_low_order(enc[MLKEM_CIPHERTEXT_SIZE:])
            try:
                return _SUITE.decrypt(enc + stanza.body, self._key, info=_INFO)
            except InvalidTag:
                continue
        return None

    def _refuse_low_order(self, share: bytes) -> None:
        """HPKE reports an all-zero X25519 secret as a bad tag; age calls it a header failure."""
        try:
            self._classic.exchange(x25519.X25519PublicKey.from_public_bytes(share))
        except ValueError:
            raise HeaderError("mlkem768x25519 share is a low-order point") from None
