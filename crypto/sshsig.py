"""OpenSSH's SSHSIG signatures with Ed25519 keys, so that `ssh-keygen -Y verify` checks our packages.

Written from OpenSSH's PROTOCOL.sshsig: the blob is "SSHSIG", version 1, the public key, a
namespace, a reserved string, the hash algorithm and the signature; what is signed is "SSHSIG",
the namespace, the reserved string, the hash algorithm and the hash of the message. Only
ssh-ed25519 keys; we sign with sha512 (as ssh-keygen does) and accept sha256 or sha512.
"""

import base64
import binascii
import hashlib
import struct

import nacl.exceptions
import nacl.signing

from crypto.errors import KeyFormatError, SignatureError
from crypto.signing import SigningKey

MAGIC = b"SSHSIG"
VERSION = 1
KEY_TYPE = "ssh-ed25519"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
_LINE = 70  # what ssh-keygen writes
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
MAX_SIGNATURE_TEXT = 64 * 1024


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _Reader:
    """RFC 4253 fields in order; any shortfall or leftover is a malformed signature."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def take(self, size: int) -> bytes:
        if self._at + size > len(self._data):
            raise SignatureError("SSH signature is malformed: it is truncated")
        chunk = self._data[self._at : self._at + size]
        self._at += size
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())

    def end(self) -> None:
        if self._at != len(self._data):
            raise SignatureError("SSH signature is malformed: bytes after its last field")


def public_key_blob(public_key: bytes) -> bytes:
    if len(public_key) != 32:
        raise KeyFormatError("an Ed25519 public key is 32 bytes")
    return _string(KEY_TYPE.encode()) + _string(public_key)


def _key_from_blob(blob: bytes) -> bytes:
    reader = _Reader(blob)
    key_type, key = reader.string(), reader.string()
    reader.end()
    if key_type != KEY_TYPE.encode() or len(key) != 32:
        raise SignatureError("SSH signature is not made with an ssh-ed25519 key")
    return key


def public_key_text(public_key: bytes) -> str:
    """The `ssh-ed25519 AAAA...` form of an authorized_keys or allowed_signers file."""
    return f"{KEY_TYPE} {base64.b64encode(public_key_blob(public_key)).decode()}"


def allowed_signers_line(principal: str, public_key: bytes) -> str:
    """One allowed_signers line as ssh-keygen reads it: principals, [options,] key type, base64."""
    if not principal or any(c.isspace() or c in ',"' for c in principal):
        raise ValueError("a principal is one word without commas or quotes")
    return f"{principal} {public_key_text(public_key)}"


def parse_public_key(text: str) -> bytes:
    """The Ed25519 key of an `ssh-ed25519 BASE64` key or of an allowed_signers line holding one."""
    words = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    fields = words[0].split() if len(words) == 1 else []
    if KEY_TYPE not in fields or fields.index(KEY_TYPE) + 1 >= len(fields):
        raise KeyFormatError(f"expected one {KEY_TYPE} public key or one allowed_signers line")
    encoded = fields[fields.index(KEY_TYPE) + 1]
    try:
        blob = base64.b64decode(encoded, validate=True)
        return _key_from_blob(blob)
    except (binascii.Error, ValueError, SignatureError):
        raise KeyFormatError(f"malformed {KEY_TYPE} public key") from None


def fingerprint(public_key: bytes) -> str:
    """The SHA256:... fingerprint that ssh-keygen prints for this key."""
    digest = hashlib.sha256(public_key_blob(public_key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _signed_data(namespace: bytes, reserved: bytes, hash_name: str, message: bytes) -> bytes:
    digest = _HASHES[hash_name](message).digest()
    return MAGIC + _string(namespace) + _string(reserved) + _string(hash_name.encode()) + _string(digest)


def _check_namespace(namespace: str) -> bytes:
    if not namespace:
        raise ValueError("an SSHSIG namespace may not be empty")
    return namespace.encode("utf-8")


def sign(key: SigningKey, namespace: str, message: bytes) -> str:
    """The armored SSHSIG signature of message (what `ssh-keygen -Y sign -n namespace` writes)."""
    space = _check_namespace(namespace)
    signature = key.sign_sshsig(_signed_data(space, b"", "sha512", message))
    blob = (
        MAGIC
        + struct.pack(">I", VERSION)
        + _string(public_key_blob(key.verify_key.public_key))
        + _string(space)
        + _string(b"")
        + _string(b"sha512")
        + _string(_string(KEY_TYPE.encode()) + _string(signature))
    )
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + _LINE] for i in range(0, len(encoded), _LINE)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def _dearmor(armored: bytes) -> bytes:
    if len(armored) > MAX_SIGNATURE_TEXT:
        raise SignatureError("SSH signature is too large")
    try:
        lines = armored.decode("ascii").strip().splitlines()
    except UnicodeDecodeError:
        raise SignatureError("SSH signature is malformed: not ASCII") from None
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise SignatureError("not an armored SSH signature (no BEGIN/END SSH SIGNATURE lines)")
    try:
        return base64.b64decode("".join(line.strip() for line in lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("SSH signature is malformed: bad base64") from None


def signer(armored: bytes) -> bytes:
    """The public key an armored signature claims (unverified: use it only to name the signer)."""
    reader = _Reader(_dearmor(armored))
    if reader.take(6) != MAGIC:
        raise SignatureError("not an SSH signature (no SSHSIG preamble)")
    reader.uint32()
    return _key_from_blob(reader.string())


def verify(armored: bytes, namespace: str, message: bytes, public_key: bytes) -> None:
    """Check an armored SSHSIG signature of message by public_key under namespace; raise SignatureError."""
    reader = _Reader(_dearmor(armored))
    if reader.take(6) != MAGIC:
        raise SignatureError("not an SSH signature (no SSHSIG preamble)")
    if reader.uint32() != VERSION:
        raise SignatureError("SSH signature has a version this verifier does not support")
    claimed = _key_from_blob(reader.string())
    space, reserved, hash_name = reader.string(), reader.string(), reader.string()
    signature_blob = reader.string()
    reader.end()
    if space != _check_namespace(namespace):
        raise SignatureError(f"SSH signature was made for another namespace, not {namespace}")
    if hash_name.decode("ascii", "replace") not in _HASHES:
        raise SignatureError("SSH signature uses a hash algorithm other than sha256 or sha512")
    if claimed != public_key:
        raise SignatureError(f"signed by another key ({fingerprint(claimed)}), not {fingerprint(public_key)}")
    inner = _Reader(signature_blob)
    sig_type, raw = inner.string(), inner.string()
    inner.end()
    if sig_type != KEY_TYPE.encode() or len(raw) != 64:
        raise SignatureError("SSH signature is not an ssh-ed25519 signature")
    data = _signed_data(space, reserved, hash_name.decode("ascii"), message)
    try:
        nacl.signing.VerifyKey(public_key).verify(data, raw)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise SignatureError("SSH signature does not verify: the signed file was changed") from None
