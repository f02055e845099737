"""Key files: secret text sealed to a passphrase (what `age -p` writes), mode 0600, never overwritten.

Warning: this module reads and writes secret keys and handles passphrases.
"""

import datetime
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass

from crypto._header import VERSION_LINE
from crypto.envelope import open_bytes, seal_bytes
from crypto.errors import (
    CryptoError,
    KeyFormatError,
    NoIdentityMatchError,
    PassphraseError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from crypto.files import write_private
from crypto.keys import AnyIdentity, parse_identity
from crypto.scrypt import DEFAULT_WORK_FACTOR, MIN_PASSPHRASE_LENGTH, ScryptIdentity, ScryptRecipient

MAX_KEY_FILE_SIZE = 64 * 1024
MAX_PASSPHRASE_FILE_SIZE = 64 * 1024
PASSPHRASE_VARIABLE = "TAMGA_PASSPHRASE"  # noqa: S105 (the name of a variable)
Passphrase = str | Callable[[], str]


@dataclass(frozen=True)
class SecretText:
    """The lines of a key file. Warning: secret."""

    lines: tuple[str, ...]
    encrypted: bool

    def __repr__(self) -> str:
        return f"SecretText(encrypted={self.encrypted})"


def check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise WeakPassphraseError(f"passphrase is too short: use at least {MIN_PASSPHRASE_LENGTH} characters")


def has_terminal() -> bool:
    """Whether /dev/tty opens: getpass prompts there, even when stdin is a pipe."""
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


def read_passphrase_file(path: str | os.PathLike[str]) -> str:
    """The first line of path (ended by LF, CRLF or CR); an unreadable file raises OSError.

    Warning: returns a secret.
    """
    with open(path, "rb") as src:
        line = src.readline(MAX_PASSPHRASE_FILE_SIZE)
    try:
        passphrase = line.decode("utf-8").split("\r", 1)[0].rstrip("\n")
    except UnicodeDecodeError:
        raise PassphraseError("the passphrase is not valid UTF-8") from None
    if not passphrase:
        raise PassphraseError(f"no passphrase in {os.fspath(path)}: its first line is empty")
    return passphrase


def read_passphrase(
    passphrase_file: str | os.PathLike[str] | None,
    *,
    confirm: bool = False,
    prompt: str = "Passphrase: ",
    can_prompt: Callable[[], bool] = has_terminal,
) -> str:
    """The passphrase from passphrase_file, else TAMGA_PASSPHRASE, else a prompt (asked twice if confirm).

    Every CLI that takes --passphrase-file reads it here. can_prompt says whether a prompt would
    reach a person (tamga-review asks only when its stdin is a terminal). Warning: returns a secret.
    """
    if passphrase_file is not None:
        return read_passphrase_file(passphrase_file)
    if PASSPHRASE_VARIABLE in os.environ:
        passphrase = os.environ[PASSPHRASE_VARIABLE]
    elif not can_prompt():
        raise PassphraseError(f"no passphrase: use a prompt, {PASSPHRASE_VARIABLE} or --passphrase-file")
    else:
        passphrase = getpass.getpass(prompt)
        if confirm and getpass.getpass("Passphrase again: ") != passphrase:
            raise PassphraseError("the two passphrases differ")
    try:
        passphrase.encode("utf-8")  # a non-UTF-8 environment reaches us as lone surrogates
    except UnicodeError:
        raise PassphraseError("the passphrase is not valid UTF-8") from None
    return passphrase


def key_lines(text: str) -> tuple[str, ...]:
    """The meaningful lines of a key file: stripped, without blank lines and # comments."""
    stripped = (line.strip() for line in text.splitlines())
    return tuple(line for line in stripped if line and not line.startswith("#"))


def write_secret_file(
    path: str, text: str, passphrase: str | None, work_factor: int = DEFAULT_WORK_FACTOR
) -> None:
    """Create path (mode 0600) holding text, sealed to passphrase unless it is None."""
    if passphrase is not None:
        check_new_passphrase(passphrase)
        data = seal_bytes(text.encode("utf-8"), [ScryptRecipient(passphrase, work_factor)])
    else:
        data = text.encode("utf-8")
    try:
        write_private(path, data)
    except FileExistsError:
        raise CryptoError(f"{path} already exists: refusing to overwrite a key file") from None


def read_secret_file(path: str, passphrase: Passphrase) -> SecretText:
    """Read a key file's meaningful lines, unlocking it first when it is sealed."""
    try:
        with open(path, "rb") as src:
            data = src.read(MAX_KEY_FILE_SIZE + 1)
    except OSError as error:
        raise KeyFormatError(f"cannot read key file {path}: {error.strerror}") from None
    if len(data) > MAX_KEY_FILE_SIZE:
        raise KeyFormatError(f"{path} is too large to be a key file")
    encrypted = data.startswith(VERSION_LINE)
    if encrypted:
        secret = passphrase() if callable(passphrase) else passphrase
        try:
            data = open_bytes(data, [ScryptIdentity(secret)])
        except NoIdentityMatchError:
            raise WrongPassphraseError() from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFormatError(f"{path} is not a key file") from None
    lines = key_lines(text)
    if not lines:
        raise KeyFormatError(f"{path} holds no key")
    return SecretText(lines, encrypted)


def identity_file_text(identity: AnyIdentity) -> str:
    """The text of an identity file as age-keygen lays it out. Warning: secret."""
    day = datetime.date.today().isoformat()
    return f"# created: {day}\n# public key: {identity.recipient}\n{identity.to_text()}\n"


def write_identity_file(path: str, identity: AnyIdentity, passphrase: str | None) -> None:
    write_secret_file(path, identity_file_text(identity), passphrase)


def read_identity_file(path: str, passphrase: Passphrase) -> tuple[list[AnyIdentity], bool]:
    """Return the identities (X25519 or hybrid) in path and whether it was passphrase-protected."""
    secret = read_secret_file(path, passphrase)
    return [parse_identity(line) for line in secret.lines], secret.encrypted
