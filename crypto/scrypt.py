"""The scrypt recipient: an envelope sealed to a passphrase, as `age -p` writes it."""

import os
import re

from nacl import bindings

from crypto._header import Stanza
from crypto._primitives import b64decode, b64encode, unwrap_key, wrap_key
from crypto.errors import HeaderError

STANZA_TYPE = "scrypt"
DEFAULT_WORK_FACTOR = 18
MAX_WORK_FACTOR = 22  # 2^22 needs 4 GiB and tens of seconds: refuse more before computing
MIN_PASSPHRASE_LENGTH = 12
_SALT_LABEL = b"age-encryption.org/v1/scrypt"
_DECIMAL = re.compile(r"[1-9][0-9]{0,1}")


def _derive(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    n = 1 << work_factor
    return bindings.crypto_pwhash_scryptsalsa208sha256_ll(
        passphrase, _SALT_LABEL + salt, n, 8, 1, dklen=32, maxmem=129 * 8 * n + (1 << 20)
    )


class ScryptRecipient:
    """Seals to a passphrase. Warning: holds the passphrase."""

    def __init__(self, passphrase: str, work_factor: int = DEFAULT_WORK_FACTOR) -> None:
        if not 1 <= work_factor <= MAX_WORK_FACTOR:
            raise ValueError(f"work factor must be between 1 and {MAX_WORK_FACTOR}")
        self._passphrase = passphrase.encode("utf-8")
        self.work_factor = work_factor

    def __repr__(self) -> str:
        return f"ScryptRecipient(work_factor={self.work_factor})"

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(16)
        key = _derive(self._passphrase, salt, self.work_factor)
        args = (b64encode(salt).decode(), str(self.work_factor))
        return [Stanza(STANZA_TYPE, args, wrap_key(key, file_key))]


class ScryptIdentity:
    """Opens an envelope sealed to a passphrase. Warning: holds the passphrase."""

    def __init__(self, passphrase: str, max_work_factor: int = MAX_WORK_FACTOR) -> None:
        self._passphrase = passphrase.encode("utf-8")
        self.max_work_factor = max_work_factor

    def __repr__(self) -> str:
        return "ScryptIdentity()"

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != STANZA_TYPE:
                continue
            if len(stanza.args) != 2:
                raise HeaderError("scrypt stanza has the wrong number of arguments")
            try:
                salt = b64decode(stanza.args[0].encode("ascii"))
            except ValueError:
                raise HeaderError("scrypt salt is not canonical base64") from None
            if len(salt) != 16:
                raise HeaderError("scrypt salt has the wrong length")
            if not _DECIMAL.fullmatch(stanza.args[1]):
                raise HeaderError("scrypt work factor is malformed")
            work_factor = int(stanza.args[1])
            if work_factor > self.max_work_factor:
                raise HeaderError(f"scrypt work factor 2^{work_factor} is above the limit")
            if len(stanza.body) != 32:
                raise HeaderError("scrypt stanza body has the wrong length")
            file_key = unwrap_key(_derive(self._passphrase, salt, work_factor), stanza.body)
            if file_key is not None:
                return file_key
        return None
