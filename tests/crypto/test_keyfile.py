"""Identity files: sealed to a passphrase as `age -p` does, mode 0600, never overwritten."""

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

import crypto
from crypto import keyfile
from crypto.x25519 import X25519Identity

PASSPHRASE = "twelve chars"  # exactly the shortest passphrase allowed
assert len(PASSPHRASE) == 12


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _never() -> str:
    raise AssertionError("a plain key file must not ask for a passphrase")


@dataclass(frozen=True)
class SealedFile:
    path: Path
    identity: X25519Identity


@pytest.fixture(scope="module")
def sealed_file(tmp_path_factory: pytest.TempPathFactory) -> SealedFile:
    """One passphrase-protected identity file per module: sealing it costs an scrypt derivation."""
    identity = X25519Identity.generate()
    path = tmp_path_factory.mktemp("keyfile") / "station.key"
    keyfile.write_identity_file(str(path), identity, PASSPHRASE)
    return SealedFile(path, identity)


def test_sealed_identity_file_round_trip(sealed_file: SealedFile) -> None:
    asked: list[bool] = []

    def passphrase() -> str:
        asked.append(True)
        return PASSPHRASE

    identities, encrypted = keyfile.read_identity_file(str(sealed_file.path), passphrase)
    assert encrypted is True
    assert asked == [True]
    assert [i.recipient for i in identities] == [sealed_file.identity.recipient]
    assert identities[0].to_text() == sealed_file.identity.to_text()


def test_sealed_identity_file_is_an_age_passphrase_envelope(sealed_file: SealedFile) -> None:
    data = sealed_file.path.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert sealed_file.identity.to_text().encode() not in data
    assert _mode(sealed_file.path) == 0o600


def test_plain_identity_file(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    path = tmp_path / "plain.key"
    keyfile.write_identity_file(str(path), identity, None)
    assert _mode(path) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# created: ")
    assert lines[1:] == [f"# public key: {identity.recipient}", identity.to_text()]
    identities, encrypted = keyfile.read_identity_file(str(path), _never)
    assert encrypted is False
    assert [i.recipient for i in identities] == [identity.recipient]


def test_plain_file_with_several_identities_and_comments(tmp_path: Path) -> None:
    first, second = X25519Identity.generate(), X25519Identity.generate()
    path = tmp_path / "keys.txt"
    path.write_text(f"# two keys\n\n  {first.to_text()}  \r\n# another\n{second.to_text()}\n")
    identities, encrypted = keyfile.read_identity_file(str(path), _never)
    assert encrypted is False
    assert [i.recipient for i in identities] == [first.recipient, second.recipient]


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE], ids=["plain", "sealed"])
def test_never_overwrites(tmp_path: Path, passphrase: str | None) -> None:
    path = tmp_path / "station.key"
    path.write_bytes(b"precious")
    with pytest.raises(
        crypto.CryptoError, match=_exactly(f"{path} already exists: refusing to overwrite a key file")
    ) as caught:
        keyfile.write_identity_file(str(path), X25519Identity.generate(), passphrase)
    assert type(caught.value) is crypto.CryptoError
    assert path.read_bytes() == b"precious"


def test_never_overwrites_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "station.key"
    link.symlink_to(target)
    with pytest.raises(
        crypto.CryptoError, match=_exactly(f"{link} already exists: refusing to overwrite a key file")
    ):
        keyfile.write_identity_file(str(link), X25519Identity.generate(), None)
    assert not target.exists()


@pytest.mark.parametrize("passphrase", ["", "short", "eleven char", "ééééééééééé"])
def test_short_passphrase_is_refused(tmp_path: Path, passphrase: str) -> None:
    path = tmp_path / "station.key"
    with pytest.raises(
        crypto.WeakPassphraseError,
        match=_exactly("passphrase is too short: use at least 12 characters"),
    ):
        keyfile.write_identity_file(str(path), X25519Identity.generate(), passphrase)
    assert not path.exists()


@pytest.mark.parametrize("passphrase", ["twelve charS", ""])
def test_wrong_passphrase(sealed_file: SealedFile, passphrase: str) -> None:
    with pytest.raises(
        crypto.WrongPassphraseError, match=_exactly("wrong passphrase for this identity file")
    ):
        keyfile.read_identity_file(str(sealed_file.path), passphrase)


def _sealed_with_work_factor(path: Path, identity: X25519Identity, work_factor_text: str) -> None:
    """An identity file sealed at 2^10, then its work-factor argument rewritten (breaking the MAC)."""
    text = keyfile.identity_file_text(identity).encode()
    envelope = crypto.seal_bytes(text, [crypto.ScryptRecipient(PASSPHRASE, work_factor=10)])
    head, newline, rest = envelope.partition(b"\n-> scrypt ")
    stanza_line, _, body = rest.partition(b"\n")
    salt, work_factor = stanza_line.split(b" ")
    assert work_factor == b"10"
    line = salt + b" " + work_factor_text.encode()
    path.write_bytes(head + newline + line + b"\n" + body)


def test_the_crafting_is_sound(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    path = tmp_path / "station.key"
    _sealed_with_work_factor(path, identity, "10")
    identities, encrypted = keyfile.read_identity_file(str(path), PASSPHRASE)
    assert encrypted is True
    assert identities[0].recipient == identity.recipient


@pytest.mark.timeout(10)  # computing 2^23 or more would take gigabytes and many seconds
@pytest.mark.parametrize("work_factor", ["23", "30", "99"])
def test_work_factor_above_22_is_refused_before_any_derivation(tmp_path: Path, work_factor: str) -> None:
    path = tmp_path / "station.key"
    _sealed_with_work_factor(path, X25519Identity.generate(), work_factor)
    # The header MAC no longer verifies either; the work factor must be refused first.
    with pytest.raises(
        crypto.HeaderError, match=_exactly(f"scrypt work factor 2^{work_factor} is above the limit")
    ):
        keyfile.read_identity_file(str(path), PASSPHRASE)


@pytest.mark.parametrize("work_factor", ["010", "0", "1e1", "-1", "100"])
def test_malformed_work_factor_is_refused(tmp_path: Path, work_factor: str) -> None:
    path = tmp_path / "station.key"
    _sealed_with_work_factor(path, X25519Identity.generate(), work_factor)
    with pytest.raises(crypto.HeaderError, match=_exactly("scrypt work factor is malformed")):
        keyfile.read_identity_file(str(path), PASSPHRASE)


def test_scrypt_recipient_caps_its_work_factor() -> None:
    for work_factor in (0, 23):
        with pytest.raises(ValueError, match=_exactly("work factor must be between 1 and 22")):
            crypto.ScryptRecipient(PASSPHRASE, work_factor=work_factor)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(
        crypto.KeyFormatError, match=_exactly(f"cannot read key file {path}: No such file or directory")
    ):
        keyfile.read_identity_file(str(path), _never)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# created: today\n# public key: age1...\n"])
def test_file_without_a_key(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.key"
    path.write_bytes(content)
    with pytest.raises(crypto.KeyFormatError, match=_exactly(f"{path} holds no key")):
        keyfile.read_identity_file(str(path), _never)


def test_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "binary.key"
    path.write_bytes(b"\xff\xfe\x00key")
    with pytest.raises(crypto.KeyFormatError, match=_exactly(f"{path} is not a key file")):
        keyfile.read_identity_file(str(path), _never)


def test_file_that_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.key"
    path.write_bytes(b"#" * (keyfile.MAX_KEY_FILE_SIZE + 1))
    with pytest.raises(crypto.KeyFormatError, match=_exactly(f"{path} is too large to be a key file")):
        keyfile.read_identity_file(str(path), _never)


def test_file_with_a_malformed_key_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    with pytest.raises(
        crypto.KeyFormatError,
        match=_exactly("malformed identity: expected an AGE-SECRET-KEY-1... string"),
    ):
        keyfile.read_identity_file(str(path), _never)


def test_secrets_never_appear_in_repr(sealed_file: SealedFile) -> None:
    secret = keyfile.read_secret_file(str(sealed_file.path), PASSPHRASE)
    assert repr(secret) == "SecretText(encrypted=True)"
    text = sealed_file.identity.to_text()
    assert secret.lines == (text,)
    assert text not in repr(sealed_file.identity)
    assert PASSPHRASE not in repr(crypto.ScryptRecipient(PASSPHRASE, work_factor=2))
    assert PASSPHRASE not in repr(crypto.ScryptIdentity(PASSPHRASE))


def test_mode_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        path = tmp_path / "station.key"
        keyfile.write_identity_file(str(path), X25519Identity.generate(), None)
    finally:
        os.umask(previous)
    assert _mode(path) == 0o600
