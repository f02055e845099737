"""SSHSIG against the real ssh-keygen both ways, and every malformed or foreign signature refused."""

import base64
import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from crypto import sshsig
from crypto.errors import KeyFormatError, SignatureError
from crypto.signing import SigningKey

NAMESPACE = "tamga-evidence"
MESSAGE = b"0" * 64 + b"  item-1-original.mp4\n"

needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs openssh-client")


def ssh_keygen(*args: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["ssh-keygen", *args], cwd=cwd, input=stdin, capture_output=True, check=False)


def blob_of(armored: str) -> bytes:
    return base64.b64decode("".join(armored.strip().splitlines()[1:-1]))


def armor(blob: bytes) -> bytes:
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    return ("\n".join([sshsig.BEGIN, *lines, sshsig.END]) + "\n").encode()


def string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def fields(blob: bytes) -> list[bytes]:
    """The blob's fields after the magic and version: publickey, namespace, reserved, hash, signature."""
    found, at = [], 10
    while at < len(blob):
        (size,) = struct.unpack(">I", blob[at : at + 4])
        found.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return found


def rebuilt(parts: list[bytes], version: int = 1, magic: bytes = b"SSHSIG") -> bytes:
    return armor(magic + struct.pack(">I", version) + b"".join(string(part) for part in parts))


@needs_ssh_keygen
def test_ssh_keygen_verifies_our_signature(tmp_path: Path) -> None:
    key = SigningKey.generate()
    (tmp_path / "allowed_signers").write_text(
        sshsig.allowed_signers_line("tamga-station", key.verify_key.public_key) + "\n"
    )
    (tmp_path / "SHA256SUMS.sig").write_text(sshsig.sign(key, NAMESPACE, MESSAGE))
    args = (
        "-Y",
        "verify",
        "-f",
        "allowed_signers",
        "-I",
        "tamga-station",
        "-n",
        NAMESPACE,
        "-s",
        "SHA256SUMS.sig",
    )
    good = ssh_keygen(*args, cwd=tmp_path, stdin=MESSAGE)
    assert good.returncode == 0, good.stderr
    assert good.stdout.decode().strip() == (
        f'Good "{NAMESPACE}" signature for tamga-station with ED25519 key '
        f"{sshsig.fingerprint(key.verify_key.public_key)}"
    )
    assert ssh_keygen(*args, cwd=tmp_path, stdin=MESSAGE + b"x").returncode != 0
    wrong_namespace = [*args[:7], "file", *args[8:]]
    assert ssh_keygen(*wrong_namespace, cwd=tmp_path, stdin=MESSAGE).returncode != 0


@needs_ssh_keygen
def test_we_verify_ssh_keygen_signatures(tmp_path: Path) -> None:
    assert (
        ssh_keygen("-q", "-t", "ed25519", "-N", "", "-C", "expert", "-f", "key", cwd=tmp_path).returncode == 0
    )
    (tmp_path / "SHA256SUMS").write_bytes(MESSAGE)
    signed = ssh_keygen("-Y", "sign", "-f", "key", "-n", NAMESPACE, "SHA256SUMS", cwd=tmp_path)
    assert signed.returncode == 0, signed.stderr
    public_key = sshsig.parse_public_key((tmp_path / "key.pub").read_text())
    armored = (tmp_path / "SHA256SUMS.sig").read_bytes()
    sshsig.verify(armored, NAMESPACE, MESSAGE, public_key)
    assert sshsig.signer(armored) == public_key
    fingerprint = ssh_keygen("-l", "-f", "key.pub", cwd=tmp_path).stdout.decode().split()[1]
    assert sshsig.fingerprint(public_key) == fingerprint
    with pytest.raises(SignatureError, match="does not verify"):
        sshsig.verify(armored, NAMESPACE, MESSAGE[:-1], public_key)


def test_the_signature_is_what_ssh_keygen_writes() -> None:
    key = SigningKey(bytes(range(32)))
    armored = sshsig.sign(key, NAMESPACE, MESSAGE)
    lines = armored.splitlines()
    assert armored.endswith("\n") and lines[0] == sshsig.BEGIN and lines[-1] == sshsig.END
    assert all(len(line) == 70 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 70
    blob = blob_of(armored)
    assert blob[:10] == b"SSHSIG\x00\x00\x00\x01"
    public_blob, namespace, reserved, hash_name, signature = fields(blob)
    assert public_blob == string(b"ssh-ed25519") + string(key.verify_key.public_key)
    assert (namespace, reserved, hash_name) == (NAMESPACE.encode(), b"", b"sha512")
    assert signature[:15] == string(b"ssh-ed25519") and len(signature) == 15 + 4 + 64
    assert sshsig.sign(key, NAMESPACE, MESSAGE) == armored  # Ed25519 is deterministic


def good() -> tuple[SigningKey, str]:
    key = SigningKey(bytes(range(32)))
    return key, sshsig.sign(key, NAMESPACE, MESSAGE)


def test_another_key_is_named_by_fingerprint() -> None:
    key, armored = good()
    other = SigningKey.generate().verify_key.public_key
    with pytest.raises(SignatureError) as refused:
        sshsig.verify(armored.encode(), NAMESPACE, MESSAGE, other)
    assert str(refused.value) == (
        f"signed by another key ({sshsig.fingerprint(key.verify_key.public_key)}), "
        f"not {sshsig.fingerprint(other)}"
    )


def _damaged() -> list[tuple[str, bytes, str]]:
    _, armored = good()
    parts = fields(blob_of(armored))
    public_blob, _, _, _, signature = parts
    flipped = bytearray(signature)
    flipped[-1] ^= 1
    return [
        (
            "another namespace",
            rebuilt([public_blob, b"file", *parts[2:]]),
            "another namespace, not tamga-evidence",
        ),
        ("version 2", rebuilt(parts, version=2), "version this verifier does not support"),
        ("no preamble", rebuilt(parts, magic=b"SSHSIX"), "no SSHSIG preamble"),
        ("sha1", rebuilt([*parts[:3], b"sha1", signature]), "other than sha256 or sha512"),
        ("flipped signature", rebuilt([*parts[:4], bytes(flipped)]), "does not verify"),
        ("trailing field", rebuilt([*parts, b"x"]), "bytes after its last field"),
        ("truncated blob", armor(blob_of(armored)[:-5]), "truncated"),
        ("rsa key type", rebuilt([string(b"ssh-rsa") + string(b"k" * 32), *parts[1:]]), "ssh-ed25519 key"),
        ("no armor", armored.encode()[30:], "no BEGIN/END"),
        ("bad base64", armored.replace(armored.splitlines()[1][:4], "!!!!").encode(), "bad base64"),
        ("not ascii", armored.encode().replace(b"A", "Ä".encode(), 1), "not ASCII"),
    ]


@pytest.mark.parametrize(
    ("damaged", "reason"), [(d, r) for _, d, r in _damaged()], ids=[n for n, _, _ in _damaged()]
)
def test_damaged_signatures_are_refused(damaged: bytes, reason: str) -> None:
    key, _ = good()
    with pytest.raises(SignatureError, match=reason):
        sshsig.verify(damaged, NAMESPACE, MESSAGE, key.verify_key.public_key)


def test_sha256_signatures_are_accepted() -> None:
    key, armored = good()
    parts = fields(blob_of(armored))
    data = b"SSHSIG" + string(NAMESPACE.encode()) + string(b"") + string(b"sha256")
    data += string(hashlib.sha256(MESSAGE).digest())
    signature = string(b"ssh-ed25519") + string(key.sign_sshsig(data))
    sshsig.verify(rebuilt([*parts[:3], b"sha256", signature]), NAMESPACE, MESSAGE, key.verify_key.public_key)


def test_public_keys_and_allowed_signers_lines() -> None:
    key = SigningKey(bytes(range(32))).verify_key.public_key
    text = sshsig.public_key_text(key)
    assert text.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
    assert sshsig.allowed_signers_line("tamga-station", key) == f"tamga-station {text}"
    for line in (
        text,
        f"{text} station@office",
        f"tamga-station {text}",
        f'tamga-station namespaces="tamga-evidence" {text} comment',
        f"# the station\n\ntamga-station {text}\n",
    ):
        assert sshsig.parse_public_key(line) == key
    for bad in (
        "",
        "tamga-station",
        "ssh-ed25519",
        f"{text}\n{text}",
        "ssh-ed25519 AAAA",
        "ssh-rsa AAAAB3Nza",
    ):
        with pytest.raises(KeyFormatError):
            sshsig.parse_public_key(bad)
    with pytest.raises(ValueError, match="one word"):
        sshsig.allowed_signers_line("two words", key)


def test_raw_signing_is_only_for_sshsig_data() -> None:
    with pytest.raises(ValueError, match="only SSHSIG"):
        SigningKey.generate().sign_sshsig(b"tamga/signed-document/v1\x00anything")
    with pytest.raises(ValueError, match="may not be empty"):
        sshsig.sign(SigningKey.generate(), "", MESSAGE)
