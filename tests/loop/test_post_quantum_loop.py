"""The whole loop on a post-quantum station (the default), and on a classic one made with --classic.

Intake seals to the station's age1pq1... recipient, the station imports and replies, the source
reads the reply. What crosses the air gap towards the station is sealed with mlkem768x25519 stanzas
only; replies stay X25519 (a source's key is derived from the codename: docs/threat-model.md).
"""

import io
import json
from pathlib import Path

import pytest

from crypto import inspect, open_bytes
from crypto.bundle import SEALED_MANIFEST
from crypto.codename import derive_reply_identity
from crypto.hybrid import STANZA_TYPE as HYBRID
from crypto.x25519 import STANZA_TYPE as CLASSIC
from submission.app import create_app
from submission.settings import SettingsError, load_settings
from tests.support.bundles import sha256
from tests.support.intake import Intake, deliver, init_intake
from tests.support.station import Station, assert_refused, last_token

MESSAGE = "Carousel voting at polling station 1142: the same six people, four times."
VIDEO = bytes(range(256)) * 1100 + b"tail"  # several 64 KiB chunks
REPLY = "Thank you. Did anyone film the bus that brought them?"


def stanza_types(envelope: bytes) -> tuple[str, ...]:
    return inspect(io.BytesIO(envelope)).stanza_types


def bundle_manifest(bundle: Path) -> bytes:
    """The sealed manifest, the bundle's first tar member (a 512-byte header, then its bytes)."""
    data = bundle.read_bytes()
    assert data[: len(SEALED_MANIFEST)].decode() == SEALED_MANIFEST
    size = int(data[124:136].rstrip(b"\0 ").decode(), 8)
    return data[512 : 512 + size]


def run_loop(tmp_path: Path, station: Station, stanza: str) -> None:
    """Submit, export, import, reply, export the outbox, import it, read the reply as the source."""
    intake = init_intake(tmp_path / "intake", station, station.signing_key())
    try:
        station.ok("trust-server", intake.server_key())
        source = intake.new_source()
        intake.submit_as(source, MESSAGE, [(VIDEO, "bus.mp4", "video/mp4")])
        sent = intake.envelope_files()
        assert len(sent) == 3
        assert {stanza_types(data) for data in sent.values()} == {(stanza,)}

        bundle = tmp_path / "tamga.tar"
        assert deliver(station, intake, bundle) == 3
        assert stanza_types(bundle_manifest(bundle)) == (stanza,)
        items = {item["kind"]: item for item in station.items()}
        assert items["message"]["sha256"] == sha256(MESSAGE.encode())
        assert items["file"]["sha256"] == sha256(VIDEO)
        assert items["file"]["size"] == len(VIDEO)
        assert items["file"]["name"] == "bus.mp4"
        assert json.loads(station.ok("show", items["message"]["id"], "--json").stdout)["text"] == MESSAGE
        out = tmp_path / "case" / "bus.mp4"
        out.parent.mkdir()
        station.ok("extract", items["file"]["id"], "--out", out)
        assert out.read_bytes() == VIDEO

        station.reply(items["message"]["id"], REPLY)
        outbox = tmp_path / "outbox.tar"
        assert station.export_outbox(outbox) == (1, 3)
        assert intake.import_replies(outbox).exit_code == 0
        (reply,) = intake.reply_files()
        sealed = (intake.store / reply).read_bytes()
        assert stanza_types(sealed) == (CLASSIC,)  # the source's codename-derived key
        identity = derive_reply_identity(source.codename, intake.salt)
        assert open_bytes(sealed, [identity]).decode() == REPLY
        _, page = intake.log_in(source.codename)
        assert REPLY in page
        assert intake.envelope_files() == {}  # acknowledged and deleted
        station.ok("custody", "verify")
    finally:
        intake.close()


def test_a_default_station_is_post_quantum_and_the_whole_loop_runs_on_it(
    tmp_path: Path, station: Station
) -> None:
    lines = station.ok("pubkey", passphrase=None).stdout.splitlines()
    assert lines[0].startswith("Fingerprint: ")
    assert lines[-1].startswith("age1pq1") and len(lines[-1]) > 1900
    assert lines[-1] == str(station.recipient)
    run_loop(tmp_path, station, HYBRID)


def test_a_classic_station_seals_with_x25519_and_the_whole_loop_runs_on_it(tmp_path: Path) -> None:
    station = Station(tmp_path / "classic")
    created = station.ok("init", "--classic").stdout
    recipient = last_token(station.ok("pubkey"))
    assert recipient.startswith("age1") and not recipient.startswith("age1pq1")
    assert f"Recipient (install on the intake server): {recipient}" in created
    run_loop(tmp_path, station, CLASSIC)


def test_init_prints_the_post_quantum_recipient(tmp_path: Path) -> None:
    station = Station(tmp_path / "fresh")
    created = station.ok("init").stdout.splitlines()
    assert created[1] == f"Recipient (install on the intake server): {station.recipient}"
    assert str(station.recipient).startswith("age1pq1")


@pytest.fixture
def two_kinds(tmp_path: Path, station: Station) -> tuple[str, str]:
    classic = Station(tmp_path / "classic")
    classic.ok("init", "--classic")
    return last_token(station.ok("pubkey")), last_token(classic.ok("pubkey"))


def test_intake_init_refuses_post_quantum_and_classic_recipients_together(
    tmp_path: Path, two_kinds: tuple[str, str]
) -> None:
    hybrid, classic = two_kinds
    intake = Intake(tmp_path / "intake")
    line = assert_refused(intake.run("init", "--recipient", hybrid, "--recipient", classic), "age1pq1")
    assert "mix post-quantum" in line and hybrid not in line
    assert not intake.root.exists()
    Intake(tmp_path / "two").ok("init", "--recipient", hybrid, "--recipient", hybrid)


def test_intake_refuses_to_start_on_a_mixed_configuration(tmp_path: Path, two_kinds: tuple[str, str]) -> None:
    hybrid, classic = two_kinds
    intake = Intake(tmp_path / "intake")
    intake.ok("init", "--recipient", hybrid)
    config = intake.root / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "recipients": [hybrid, classic]}))
    with pytest.raises(SettingsError, match="mix post-quantum"):
        create_app(load_settings(intake.root))
    assert_refused(intake.run("serve"), "mix post-quantum")
