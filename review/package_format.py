"""The evidence package's layout: member names, the SHA256SUMS file and the VERIFY.txt instructions.

One home for what review/package.py writes and review/package_verify.py checks (docs/evidence.md).
"""

import re

FORMAT = "tamga-evidence/v1"
NAMESPACE = "tamga-evidence"
PRINCIPAL = "tamga-station"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
ALLOWED_SIGNERS = "allowed_signers"
VERIFY_TEXT = "VERIFY.txt"
LISTED_CONTROL = (MANIFEST, ALLOWED_SIGNERS, VERIFY_TEXT)  # in SHA256SUMS, beside the originals
MAX_CONTROL_SIZE = 64 * 1024 * 1024
_EXTENSION = re.compile(r"[a-z0-9]{1,8}")
_ITEM_FILE = re.compile(r"item-[1-9][0-9]*-original\.[a-z0-9]{1,8}")
_SUMS_LINE = re.compile(r"([0-9a-f]{64})  ([A-Za-z0-9][A-Za-z0-9._-]{0,99})")

VERIFY_COMMANDS = (
    f"ssh-keygen -Y verify -f {ALLOWED_SIGNERS} -I {PRINCIPAL} -n {NAMESPACE} -s {SIGNATURE} < {SUMS}",
    f"sha256sum -c {SUMS}",
)


def item_file(item_id: int, extension: str) -> str:
    """A neutral member name: the item's number and its type, never the source's file name."""
    if not _EXTENSION.fullmatch(extension):
        extension = "bin"
    return f"item-{item_id}-original.{extension}"


def is_item_file(name: str) -> bool:
    return bool(_ITEM_FILE.fullmatch(name))


def sums_text(digests: dict[str, str]) -> bytes:
    """`sha256sum` output (text mode: two spaces), in member order."""
    return "".join(f"{digest}  {name}\n" for name, digest in digests.items()).encode("ascii")


def parse_sums(data: bytes) -> dict[str, str]:
    """Name -> SHA-256 of a SHA256SUMS file exactly as sums_text writes it; ValueError otherwise."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(f"{SUMS} is not ASCII") from None
    if not text.endswith("\n"):
        raise ValueError(f"{SUMS} does not end with a newline")
    found: dict[str, str] = {}
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        match = _SUMS_LINE.fullmatch(line)
        if not match:
            raise ValueError(f"{SUMS} line {number} is not `HASH  NAME`")
        if match.group(2) in found:
            raise ValueError(f"{SUMS} lists {match.group(2)} twice")
        found[match.group(2)] = match.group(1)
    return found


def verify_text(ssh_fingerprint: str, tamga_fingerprint: str) -> str:
    """VERIFY.txt: the same two commands in English and Russian."""
    check, sums = VERIFY_COMMANDS
    return f"""Tamga evidence package: how to verify it
=========================================

1. Unpack the package into an empty directory and go there:
     mkdir package && tar -xf PACKAGE.tar -C package && cd package
2. Compare the station's key with one you obtained out of band (from the organisation, not from
   this package): `cat {ALLOWED_SIGNERS}` shows it; its fingerprint is
     {ssh_fingerprint}
   (Tamga fingerprint {tamga_fingerprint}). A package signed by someone else carries their key.
3. Check the signature over {SUMS} (which lists {MANIFEST} and every other file):
     {check}
   It must print: Good "{NAMESPACE}" signature for {PRINCIPAL} with ED25519 key {ssh_fingerprint}
4. Check every file against {SUMS}:
     {sums}
   Every line must end in OK.

`tamga-review verify-package PACKAGE.tar --key KEY` checks the same and, besides, every custody
record's signature and the chain of custody hashes in {MANIFEST}.

Пакет доказательств Tamga: как его проверить
============================================

1. Распакуйте пакет в пустой каталог и перейдите в него:
     mkdir package && tar -xf PACKAGE.tar -C package && cd package
2. Сравните ключ станции с ключом, полученным независимо (от организации, а не из этого пакета):
   `cat {ALLOWED_SIGNERS}` показывает его; его отпечаток
     {ssh_fingerprint}
   (отпечаток Tamga {tamga_fingerprint}). Пакет, подписанный кем-то другим, несёт его ключ.
3. Проверьте подпись над {SUMS} (в нём перечислены {MANIFEST} и все остальные файлы):
     {check}
   Должно быть выведено: Good "{NAMESPACE}" signature for {PRINCIPAL} with ED25519 key {ssh_fingerprint}
4. Проверьте каждый файл по {SUMS}:
     {sums}
   Каждая строка должна заканчиваться на OK.

`tamga-review verify-package PACKAGE.tar --key KEY` проверяет то же самое, а также подпись каждой
записи журнала хранения и цепочку хешей журнала в {MANIFEST}.
"""
