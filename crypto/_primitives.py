"""HKDF, AEAD and base64 exactly as age uses them; every failure becomes a category error upstream.

The AEAD is pyca `cryptography`'s ChaCha20Poly1305 (OpenSSL's assembly), about twice PyNaCl's
rate on 64 KiB chunks; PyNaCl keeps X25519, Ed25519, scrypt and Argon2.

Warning: the functions here handle raw keys. They are private to crypto/.
"""

import base64
import hashlib
import hmac
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

KEY_SIZE = 32
TAG_SIZE = 16
_ZERO_NONCE = bytes(12)
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with SHA-256."""
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


class Aead:
    """ChaCha20-Poly1305 under one key, set up once for every chunk it seals or opens.

    Takes any buffer (bytes, a memoryview slice) so callers need not copy a chunk out first; the
    `_into` forms write into the caller's buffer, so a batch of chunks needs no allocation.
    """

    def __init__(self, key: bytes) -> None:
        self._cipher = ChaCha20Poly1305(key)

    def seal(self, nonce: bytes, plaintext: bytes | bytearray | memoryview) -> bytes:
        return self._cipher.encrypt(nonce, plaintext, None)

    def open(self, nonce: bytes, ciphertext: bytes | memoryview) -> bytes | None:
        """Return the plaintext, or None when the tag does not verify."""
        try:
            return self._cipher.decrypt(nonce, ciphertext, None)
        except InvalidTag:  # callers map None to a failure category
            return None

    def seal_into(self, nonce: bytes, plaintext: bytes | bytearray | memoryview, out: memoryview) -> None:
        """Write ciphertext and tag to out, which is exactly len(plaintext) + TAG_SIZE bytes."""
        self._cipher.encrypt_into(nonce, plaintext, None, out)

    def open_into(self, nonce: bytes, ciphertext: memoryview, out: memoryview) -> bool:
        """Write the plaintext to out (len(ciphertext) - TAG_SIZE bytes); False if the tag fails.

        Warning: after a False, out may hold unverified plaintext; the caller must discard it.
        """
        try:
            self._cipher.decrypt_into(nonce, ciphertext, None, out)
        except InvalidTag:
            return False
        return True


def aead_seal(key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    return Aead(key).seal(nonce, plaintext)


def aead_open(key: bytes, nonce: bytes, ciphertext: bytes) -> bytes | None:
    """Return the plaintext, or None when the tag does not verify."""
    return Aead(key).open(nonce, ciphertext)


def wrap_key(key: bytes, file_key: bytes) -> bytes:
    return aead_seal(key, _ZERO_NONCE, file_key)


def unwrap_key(key: bytes, body: bytes) -> bytes | None:
    return aead_open(key, _ZERO_NONCE, body)


def b64encode(data: bytes) -> bytes:
    """Standard base64 without padding, as age writes it."""
    return base64.b64encode(data).rstrip(b"=")


def b64decode(text: bytes) -> bytes:
    """Decode canonical unpadded base64; raise ValueError on anything else."""
    if not _BASE64.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4))
    if b64encode(data) != text:
        raise ValueError("not canonical base64")
    return data
