"""Evidence packages: three items verified with Debian's ssh-keygen and sha256sum, and verify-package."""

import io
import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crypto import _tar, parse_recipient, sshsig
from crypto.signing import VerifyKey, verify_document
from review.cli import cli as review_cli
from tests.review.test_network import REPO, blocked_env
from tests.support import media_samples as samples
from tests.support.bundles import sha256
from tests.support.intake import Intake, make_intake
from tests.support.station import Station, assert_ok, assert_refused, invoke

VIDEO = random.Random(14).randbytes(150 * 1024 + 3)  # several 64 KiB chunks
SCAN = b"%PDF-1.4 protocol scan of polling station 112\n" * 30
PHOTO = random.Random(15).randbytes(4097)
MESSAGE = "Carousel voting at station 112, bus of voters at 14:00. Карусель на участке 112."
FILES = [
    (VIDEO, "IMG_2024-03-17 Aigerim phone.mp4", "video/mp4"),
    (SCAN, "protocol 112 from Nurlan.pdf", "application/pdf"),
    (PHOTO, "photo by Aigerim.jpg", "image/jpeg"),
]
VERIFY_COMMAND = (
    "ssh-keygen -Y verify -f allowed_signers -I tamga-station -n tamga-evidence -s SHA256SUMS.sig"
    " < SHA256SUMS"
)

needs_tools = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("ssh-keygen", "sha256sum", "tar")),
    reason="needs Debian's openssh-client and coreutils",
)


def import_three(tmp_path: Path, station: Station, intake: Intake, message: str = "") -> dict[str, Any]:
    """Submit, export and import the three files (and a message); return the items by content hash."""
    intake.submit(message, FILES)
    bundle = tmp_path / "usb" / "tamga.tar"
    bundle.parent.mkdir()
    intake.export_ok(bundle)
    station.ok("import", bundle)
    return {item["sha256"]: item for item in station.items()}


def file_ids(found: dict[str, Any]) -> list[int]:
    return [found[sha256(content)]["id"] for content, _, _ in FILES]


def members(package: Path) -> dict[str, bytes]:
    reader = _tar.TarReader(io.BytesIO(package.read_bytes()))
    found = {}
    for member in reader.members():
        found[member.name] = reader.read(member.size)
    return found


def manifest_of(package: Path) -> dict[str, Any]:
    return dict(json.loads(members(package)["manifest.json"]))


def verify_package(package: Path, *args: object) -> Any:
    """`tamga-review verify-package` with no station at all."""
    return invoke(review_cli, ["verify-package", package, *args], env={"TAMGA_STATION": None})


def station_key(station: Station) -> str:
    return station.ok("pubkey", "--signing").stdout.split("Station signing key: ")[1].strip()


@needs_tools
def test_three_items_verify_with_ssh_keygen_and_sha256sum_alone(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    found = import_three(tmp_path, station, intake)
    ids = file_ids(found)
    station.ok(
        "tag", ids[0], "--incident", "ballot.stuffing", "--polling-station", "112", "--region", "Almaty"
    )
    out = tmp_path / "case" / "package.tar"
    out.parent.mkdir()
    result = station.ok("package", *ids, "--out", out)
    assert re.fullmatch(rf"Wrote {re.escape(str(out))}: 3 item\(s\), sha256 [0-9a-f]{{64}}\n", result.stdout)

    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xf", str(out), "-C", str(unpacked)], check=True)
    names = sorted(p.name for p in unpacked.iterdir())
    assert names == sorted(
        [
            *("SHA256SUMS", "SHA256SUMS.sig", "VERIFY.txt", "allowed_signers", "manifest.json"),
            *(f"item-{ids[0]}-original.mp4", f"item-{ids[1]}-original.pdf", f"item-{ids[2]}-original.jpg"),
        ]
    )
    for (content, _, _), item_id, extension in zip(FILES, ids, ("mp4", "pdf", "jpg"), strict=True):
        assert (unpacked / f"item-{item_id}-original.{extension}").read_bytes() == content

    # exactly the two commands of VERIFY.txt, with Debian's tools
    readme = (unpacked / "VERIFY.txt").read_text()
    assert readme.count(VERIFY_COMMAND) == 2 and readme.count("sha256sum -c SHA256SUMS") == 2
    assert "Как его проверить".lower() in readme.lower()
    checked = subprocess.run(["sh", "-c", VERIFY_COMMAND], cwd=unpacked, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    fingerprint = sshsig.fingerprint(VerifyKey.parse(station_key(station)).public_key)
    assert checked.stdout.strip() == (
        f'Good "tamga-evidence" signature for tamga-station with ED25519 key {fingerprint}'
    )
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout
    assert sorted(sums.stdout.splitlines()) == sorted(
        f"{name}: OK" for name in names if name not in ("SHA256SUMS", "SHA256SUMS.sig")
    )

    # the station's allowed_signers line is the package's, and ssh-keygen's format
    line = station.ok("pubkey", "--signing", "--ssh").stdout
    assert re.fullmatch(r"tamga-station ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}\n", line)
    assert (unpacked / "allowed_signers").read_text() == line

    # and with verify-package, no station: key from the package, --key tamgapub1..., --key allowed_signers
    for args in ((), ("--key", station_key(station)), ("--key", line.strip())):
        report = assert_ok(verify_package(out, *args)).stdout
        assert report.startswith(f"Package verified: {out}\n")
        assert ("key taken from the package's own allowed_signers" in report) == (args == ())
        assert "8 members: each matches SHA256SUMS" in report
        for (content, _, _), item_id in zip(FILES, ids, strict=True):
            assert f"item {item_id}: " in report and sha256(content) in report
        assert re.search(r"custody: \d+ signed record\(s\) of these items, each signature good", report)


def test_manifest_holds_the_catalogue_and_the_signed_custody_records(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    found = import_three(tmp_path, station, intake)
    ids = file_ids(found)
    station.ok(
        "tag",
        ids[0],
        "--incident",
        "ballot.stuffing",
        "--settlement",
        "Almaty",
        "--when",
        "2024-03-17T14:02+05:00",
    )
    station.ok("status", ids[1], "verified")
    out = tmp_path / "package.tar"
    station.ok("package", *ids, "--out", out)
    manifest = manifest_of(out)
    assert manifest["format"] == "tamga-evidence/v1"
    assert manifest["includes_identifying_data"] is False and manifest["includes_messages"] is False
    entries = {entry["id"]: entry for entry in manifest["items"]}
    assert list(entries) == ids
    video = entries[ids[0]]
    assert (video["sha256"], video["size"]) == (sha256(VIDEO), len(VIDEO))
    (incident,) = video["incidents"]
    assert incident["code"] == "ballot.stuffing" and set(incident["names"]) == {"en", "ru", "kk"}
    assert (video["settlement"], video["when"]) == ("Almaty", "2024-03-17T14:02:00+05:00")
    assert entries[ids[1]]["status"] == "verified"
    text = json.dumps(manifest, ensure_ascii=False)
    for _, name, _ in FILES:  # no source file names anywhere, nor source ids
        assert name not in text and "Aigerim" not in text
    assert found[sha256(VIDEO)]["source"] not in text

    # every record is the station's signed text; the chain runs from the first to the head
    key = VerifyKey.parse(station_key(station))
    excerpt = manifest["custody"]
    bodies = [verify_document(record.encode(), "tamga/custody/v1", [key])[1] for record in excerpt["records"]]
    assert [b["action"] for b in bodies if b["object"] == f"item:{ids[0]}"] == ["imported", "tagged"]
    assert [b["action"] for b in bodies if b["object"] == f"item:{ids[1]}"] == ["imported", "status"]
    chain = excerpt["chain"]
    assert chain[0]["seq"] == bodies[0]["seq"] and [c["seq"] for c in chain] == list(
        range(chain[0]["seq"], chain[0]["seq"] + len(chain))
    )
    assert chain[-1]["hash"] == excerpt["head"]

    # writing the package is a custody event of each item, naming the archive's hash
    digest = sha256(out.read_bytes())
    for item_id in ids:
        history = station.ok("custody", "show", item_id).stdout
        assert "packaged" in history.splitlines()[-1] and digest in history.splitlines()[-1]
    assert station.ok("custody", "verify").stdout.startswith("custody log verified: ")
    assert station.head() != excerpt["head"]

    # a later package carries the earlier package's events and still verifies
    later = tmp_path / "later.tar"
    station.ok("package", ids[0], "--out", later)
    assert "packaged" in [
        verify_document(r.encode(), "tamga/custody/v1", [key])[1]["action"]
        for r in manifest_of(later)["custody"]["records"]
    ]
    assert_ok(verify_package(later, "--key", str(key)))


def test_identifying_data_and_messages_only_when_asked(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    found = import_three(tmp_path, station, intake, MESSAGE)
    ids = file_ids(found)
    message_id = found[sha256(MESSAGE.encode())]["id"]
    out = tmp_path / "refused.tar"
    assert_refused(station.run("package", message_id, "--out", out), "--with-messages")
    assert not out.exists()

    full = tmp_path / "full.tar"
    result = station.ok(
        "package", ids[0], message_id, "--out", full, "--with-messages", "--include-identifying"
    )
    assert "could identify sources" in result.stderr
    manifest = manifest_of(full)
    assert manifest["includes_identifying_data"] is True and manifest["includes_messages"] is True
    video, message = manifest["items"]
    assert video["name"] == FILES[0][1] and video["message"] == MESSAGE == message["message"]
    assert members(full)[f"item-{message_id}-original.txt"] == MESSAGE.encode()
    assert "includes data that could identify sources" in assert_ok(verify_package(full)).stdout


def test_refusals_write_nothing(tmp_path: Path, station: Station, intake: Intake) -> None:
    ids = file_ids(import_three(tmp_path, station, intake))
    existing = tmp_path / "existing.tar"
    existing.write_bytes(b"keep")
    assert_refused(station.run("package", ids[0], "--out", existing), "already exists")
    assert existing.read_bytes() == b"keep"
    missing = tmp_path / "missing.tar"
    assert_refused(station.run("package", ids[0], 999, "--out", missing), "no item 999")
    assert not missing.exists()
    before = station.head()

    # a vault file swapped for another envelope: refused, nothing written, nothing logged
    envelope = found_envelope(station, ids[0])
    other = found_envelope(station, ids[1])
    envelope.write_bytes(other.read_bytes())
    swapped = tmp_path / "swapped.tar"
    assert_refused(station.run("package", ids[0], "--out", swapped), f"item {ids[0]}", "recorded at import")
    assert not swapped.exists() and not list(tmp_path.glob(".swapped.tar.part"))
    assert station.head() == before


def found_envelope(station: Station, item_id: int) -> Path:
    digest = json.loads(station.ok("show", item_id, "--json").stdout)["envelope_sha256"]
    return station.vault / digest[:2] / f"{digest}.age"


def test_pubkey_ssh_needs_signing(station: Station) -> None:
    assert station.run("pubkey", "--ssh").exit_code == 2


def test_a_file_that_itself_carries_gps_needs_include_identifying(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    photo = samples.exif_jpeg()
    intake.submit("", [(photo, "at the school.jpg", "image/jpeg")])
    bundle = tmp_path / "tamga.tar"
    intake.export_ok(bundle)
    station.ok("import", bundle)
    (item,) = station.items()
    assert "gps" in item["identifying_metadata"]
    out = tmp_path / "package.tar"
    assert_refused(
        station.run("package", item["id"], "--out", out), "identifying metadata (gps", "--include-identifying"
    )
    assert not out.exists()
    station.ok("package", item["id"], "--out", out, "--include-identifying")
    (entry,) = manifest_of(out)["items"]
    assert entry["media"]["gps"] and entry["identifying_metadata"] == item["identifying_metadata"]
    assert members(out)[entry["file"]] == photo and entry["file"].endswith(".jpg")


def test_package_and_verify_package_run_as_commands_with_sockets_failing(tmp_path: Path) -> None:
    """The real console script, real unlocks; verify-package in another directory, no station at all."""
    env, log = blocked_env(tmp_path)
    env["PYTHONPATH"] += f":{REPO}"  # this tree's code, not the tree the venv's script was installed from
    station = tmp_path / "station"
    command = [sys.executable, "-c", "from review.cli import main; main()"]

    def review(*args: object, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *map(str, args)],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert review("--station", station, "init").returncode == 0
    recipient = review("--station", station, "pubkey").stdout.splitlines()[-1]
    made = make_intake(tmp_path / "intake", [parse_recipient(recipient)])
    made.submit("", FILES[:1])
    bundle = made.export_ok(tmp_path / "b.tar")[0][0]
    made.close()
    assert review("--station", station, "trust-server", str(made.key.verify_key)).returncode == 0
    assert review("--station", station, "import", bundle).returncode == 0
    out = tmp_path / "package.tar"
    assert review("--station", station, "package", 1, "--out", out).returncode == 0
    line = review("--station", station, "pubkey", "--signing", "--ssh").stdout.strip()

    elsewhere = tmp_path / "expert"
    elsewhere.mkdir()
    shutil.copy(out, elsewhere / "package.tar")
    checked = review("verify-package", "package.tar", "--key", line, cwd=elsewhere)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("Package verified: package.tar\n")
    damaged = bytearray(out.read_bytes())
    damaged[600] ^= 1  # a byte of the original
    (elsewhere / "damaged.tar").write_bytes(bytes(damaged))
    refused = review("verify-package", "damaged.tar", "--key", line, cwd=elsewhere)
    assert refused.returncode == 1
    assert (
        refused.stderr
        == "Error: item-1-original.mp4 does not match its SHA-256 in SHA256SUMS: it was changed\n"
    )
    assert [entry for entry in log.read_text().splitlines() if " attempt " in entry] == []
