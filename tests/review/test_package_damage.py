"""Every kind of damage to an evidence package is refused by verify-package with a one-line reason.

One package of three files is written per module; each test damages a copy. Damage that keeps the
package's signature valid (re-signed with the station's own key) shows what the custody checks
catch that ssh-keygen and sha256sum cannot.
"""

import hashlib
import io
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crypto import _tar, sshsig
from crypto.signing import SigningKey
from review.station import Station as ReviewStation
from tests.review.test_package import MESSAGE, file_ids, import_three, station_key, verify_package
from tests.support.intake import make_intake, pin
from tests.support.station import PASSPHRASE, Station, assert_ok, assert_refused

Members = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Case:
    package: bytes
    key: str  # tamgapub1..., as obtained out of band
    signing: SigningKey
    names: list[str]
    ids: list[int]


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, station_template: Station) -> Iterator[Case]:
    """Three files packaged; a message of the same submission (not packaged) has events between theirs."""
    root = tmp_path_factory.mktemp("damage")
    station = station_template.copy_to(root / "station")
    intake = make_intake(root / "intake", [station.recipient])
    pin(station, intake)
    found = import_three(root, station, intake, MESSAGE)
    intake.close()
    ids = file_ids(found)
    station.ok("tag", ids[0], "--incident", "ballot.stuffing", "--region", "Almaty")
    station.ok("show", found[sha256_of(MESSAGE.encode())]["id"])  # an event of an item not packaged
    station.ok("status", ids[0], "verified")
    station.ok("note", ids[2], "--text", "matches the protocol")
    out = root / "package.tar"
    station.ok("package", *ids, "--out", out)
    signing = ReviewStation(station.root).unlock(lambda: PASSPHRASE).signing
    package = out.read_bytes()
    yield Case(package, station_key(station), signing, [name for name, _ in read(package)], ids)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(package: bytes) -> Members:
    reader = _tar.TarReader(io.BytesIO(package))
    return [(member.name, reader.read(member.size)) for member in reader.members()]


def write(members: Members) -> bytes:
    parts = [_tar.member_header(name, len(data)) + data + _tar.padding(len(data)) for name, data in members]
    return b"".join(parts) + _tar.end_of_archive()


def resigned(members: Members, key: SigningKey) -> Members:
    """SHA256SUMS recomputed over the other members and signed again, as someone holding key would."""
    listed = [(name, data) for name, data in members if name not in ("SHA256SUMS", "SHA256SUMS.sig")]
    sums = "".join(f"{sha256_of(data)}  {name}\n" for name, data in listed).encode()
    return [
        *listed,
        ("SHA256SUMS", sums),
        ("SHA256SUMS.sig", sshsig.sign(key, "tamga-evidence", sums).encode()),
    ]


def with_manifest(case: Case, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The manifest changed, then the package re-signed with the station's own key."""
    members = read(case.package)
    manifest = json.loads(dict(members)["manifest.json"])
    change(manifest)
    text = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    return write(resigned([(n, text if n == "manifest.json" else d) for n, d in members], case.signing))


def refused(tmp_path: Path, package: bytes, *needles: str, key: str | None = "") -> str:
    path = tmp_path / "damaged.tar"
    path.write_bytes(package)
    return assert_refused(verify_package(path, *(("--key", key) if key else ())), *needles)


def test_the_undamaged_package_verifies(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "package.tar"
    path.write_bytes(case.package)
    report = assert_ok(verify_package(path, "--key", case.key)).stdout
    assert "custody: 6 signed record(s) of these items" in report  # 3 imported, tagged, status, noted
    assert "chain of 7 event(s)" in report  # and the message item's opening between them
    path.write_bytes(with_manifest(case, lambda manifest: None))
    assert_ok(verify_package(path, "--key", case.key))  # re-signing alone changes nothing


def expected_for_changed(name: str) -> tuple[str, ...]:
    if name == "SHA256SUMS":
        return ("SHA256SUMS.sig", "does not verify")
    if name == "SHA256SUMS.sig":
        return ("SHA256SUMS.sig",)
    return (name, "was changed")


@pytest.mark.parametrize("index", range(8))
def test_a_changed_byte_in_any_member(tmp_path: Path, case: Case, index: int) -> None:
    members = read(case.package)
    name, data = members[index]
    for offset in (0, len(data) // 2, len(data) - 2):
        changed = bytearray(data)
        changed[offset] ^= 0x01
        members[index] = (name, bytes(changed))
        refused(tmp_path, write(members), *expected_for_changed(name), key=case.key)


@pytest.mark.parametrize("index", range(8))
def test_a_removed_member(tmp_path: Path, case: Case, index: int) -> None:
    members = read(case.package)
    name, _ = members.pop(index)
    if name in ("SHA256SUMS", "SHA256SUMS.sig"):
        refused(tmp_path, write(members), f"the package has no {name}", key=case.key)
    else:
        refused(tmp_path, write(members), name, "missing from the package", key=case.key)


def test_an_added_or_doubled_member(tmp_path: Path, case: Case) -> None:
    members = read(case.package)
    added = [*members[:3], ("notes.txt", b"added later\n"), *members[3:]]
    refused(tmp_path, write(added), "notes.txt", "does not list", key=case.key)
    doubled = [*members[:1], members[0], *members[1:]]
    refused(tmp_path, write(doubled), f"holds {members[0][0]} twice", key=case.key)
    # even listed and signed with the station's own key, a file the manifest does not describe
    listed = resigned([*members[:3], ("item-99-original.mp4", b"x"), *members[3:]], case.signing)
    refused(tmp_path, write(listed), "manifest does not describe item-99-original.mp4", key=case.key)


def test_a_broken_archive(tmp_path: Path, case: Case) -> None:
    refused(tmp_path, case.package[:-1024], "not a valid archive", key=case.key)
    refused(tmp_path, case.package + b"\x00" * 512, "not a valid archive", key=case.key)
    header = bytearray(case.package)
    header[0] ^= 0x01  # the first member's name: its header checksum fails
    refused(tmp_path, bytes(header), "not a valid archive", "checksum", key=case.key)


def test_a_signature_by_another_key(tmp_path: Path, case: Case) -> None:
    other = SigningKey.generate()
    members = resigned(read(case.package), other)
    line = refused(tmp_path, write(members), "signed by another key", key=case.key)
    assert sshsig.fingerprint(other.verify_key.public_key) in line
    # a forger who also swaps allowed_signers: the package's own key no longer names the station
    forged_line = sshsig.allowed_signers_line("tamga-station", other.verify_key.public_key) + "\n"
    forged = [(n, forged_line.encode() if n == "allowed_signers" else d) for n, d in read(case.package)]
    refused(tmp_path, write(resigned(forged, other)), "names another station key", key=None)
    refused(tmp_path, write(resigned(forged, other)), "signed by another key", key=case.key)


def test_a_changed_manifest_without_resigning(tmp_path: Path, case: Case) -> None:
    members = read(case.package)
    manifest = json.loads(dict(members)["manifest.json"])
    records = manifest["custody"]["records"]
    records[1], records[2] = records[2], records[1]
    text = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    changed = [(n, text if n == "manifest.json" else d) for n, d in members]
    refused(tmp_path, write(changed), "manifest.json", "was changed", key=case.key)


def _records(manifest: dict[str, Any]) -> list[str]:
    return list(manifest["custody"]["records"])


def _drop_record(index: int) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        del manifest["custody"]["records"][index]

    return change


def _swap_records(manifest: dict[str, Any]) -> None:
    records = manifest["custody"]["records"]
    records[-1], records[-2] = records[-2], records[-1]


def _edit_record(manifest: dict[str, Any]) -> None:
    records = manifest["custody"]["records"]
    records[-1] = records[-1].replace('"actor":"tester"', '"actor":"someone else"')


def _drop_chain_link(manifest: dict[str, Any]) -> None:
    del manifest["custody"]["chain"][2]


def _cut_chain_end(manifest: dict[str, Any]) -> None:
    manifest["custody"]["chain"].pop()


def _other_hash(manifest: dict[str, Any]) -> None:
    manifest["items"][0]["sha256"] = "0" * 64


def _foreign_record(manifest: dict[str, Any]) -> None:
    manifest["items"].pop()


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (_drop_record(-1), ("is missing from the manifest",)),
        (_drop_record(0), ("does not start at the first record",)),
        (_swap_records, ("out of order",)),
        (_edit_record, ("custody record's signature does not verify",)),
        (_drop_chain_link, ("custody chain skips",)),
        (_cut_chain_end, ("does not end at its head",)),
        (_other_hash, ("is not the file the manifest describes",)),
        (_foreign_record, ("manifest does not describe",)),
    ],
    ids=[
        "last-record-removed",
        "first-record-removed",
        "reordered",
        "edited",
        "chain-link-removed",
        "chain-cut",
        "item-hash-changed",
        "item-removed",
    ],
)
def test_custody_damage_that_keeps_the_package_signature(
    tmp_path: Path, case: Case, change: Callable[[dict[str, Any]], None], needles: tuple[str, ...]
) -> None:
    assert "tester" in _records(json.loads(dict(read(case.package))["manifest.json"]))[-1]
    refused(tmp_path, with_manifest(case, change), *needles, key=case.key)


needs_tools = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("ssh-keygen", "sha256sum", "tar")), reason="needs Debian's tools"
)


@needs_tools
def test_debian_tools_refuse_damage_too(tmp_path: Path, case: Case) -> None:
    members = read(case.package)
    original, data = members[0]
    members[0] = (original, data[:-1] + bytes([data[-1] ^ 1]))
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xf", "-", "-C", str(unpacked)], input=write(members), check=True)
    assert (
        subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True).returncode == 1
    )
    (unpacked / "SHA256SUMS").write_bytes((unpacked / "SHA256SUMS").read_bytes().replace(b"0", b"1", 1))
    command = (
        "ssh-keygen -Y verify -f allowed_signers -I tamga-station -n tamga-evidence -s SHA256SUMS.sig"
        " < SHA256SUMS"
    )
    assert subprocess.run(["sh", "-c", command], cwd=unpacked, capture_output=True).returncode != 0
