"""`tamga-intake import-replies` refuses well-signed integers no database column holds: one line, exit 1.

An outbox signed by the pinned station with a sequence number, custody-event count, reply id or
size of 2^63 used to end in an OverflowError traceback from the SQLite driver (and 2^31 in a
DataError on PostgreSQL, whose INTEGER is 32 bits); now crypto/manifests/ refuses it before any
reply is staged, and the intake is unchanged.
"""

import hashlib
from pathlib import Path
from typing import Any

import pytest

from crypto.bundle import encode_manifest, write_bundle
from crypto.manifests.outbox import CONTEXT
from tests.support.intake import Intake, deliver, read_outbox
from tests.support.station import Station, assert_ok, assert_refused

HUGE = 2**63
POSTGRES_INTEGER = 2**31  # one above what an INTEGER column holds on PostgreSQL


def outbox(path: Path, station: Station, document: dict[str, Any], reply: bytes) -> Path:
    """`document` signed by the station, with the reply as its one member."""
    member = path.with_name("reply.age")
    member.write_bytes(reply)
    with open(path, "wb") as dst:
        manifest = encode_manifest(document, station.keys().signing, CONTEXT, [])
        write_bundle(dst, manifest, [(f"{hashlib.sha256(reply).hexdigest()}.age", member)])
    member.unlink()
    return path


@pytest.mark.parametrize(
    ("changes", "reply_changes", "needle"),
    [
        ({"sequence": HUGE}, {}, "sequence number is above 2147483647"),
        ({"sequence": POSTGRES_INTEGER}, {}, "sequence number is above 2147483647"),
        ({"custody_events": HUGE}, {}, "bad custody head"),
        ({"custody_events": POSTGRES_INTEGER}, {}, "bad custody head"),
        ({}, {"reply": HUGE}, "bad reply entries"),
        ({}, {"reply": POSTGRES_INTEGER}, "bad reply entries"),
        ({}, {"size": HUGE}, "bad reply entries"),
    ],
    ids=[
        "sequence-2^63",
        "sequence-2^31",
        "custody-events-2^63",
        "custody-events-2^31",
        "reply-2^63",
        "reply-2^31",
        "size-2^63",
    ],
)
def test_an_integer_out_of_range_is_refused_in_one_line(
    tmp_path: Path,
    station: Station,
    intake: Intake,
    changes: dict[str, Any],
    reply_changes: dict[str, Any],
    needle: str,
) -> None:
    source = intake.new_source()
    intake.submit_as(source, "Ballot stuffing filmed at polling station 211.")
    deliver(station, intake, tmp_path / "tamga.tar")
    station.reply(station.item_of(source.id), "Which hour was this?")
    genuine = tmp_path / "outbox.tar"
    station.export_outbox(genuine)
    document = read_outbox(genuine, station.signing_key())
    (entry,) = document["envelopes"]
    reply = (station.root / "outbox" / f"{entry['sha256']}.age").read_bytes()
    changed = {**document, **changes, "envelopes": [{**entry, **reply_changes}]}
    before = intake.snapshot()
    assert_refused(intake.import_replies(outbox(tmp_path / "changed.tar", station, changed, reply)), needle)
    assert intake.snapshot() == before
    # The genuine outbox still imports: only the integer was at fault.
    assert "1 reply(ies) stored" in assert_ok(intake.import_replies(genuine)).stdout
