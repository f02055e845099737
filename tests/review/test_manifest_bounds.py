"""`tamga-review import` refuses well-signed integers no database column holds: one line, exit 1.

A manifest signed by the pinned server and sealed to the station, with a sequence number, item
number or size of 2^63, used to end in an OverflowError traceback from the SQLite driver (the
sequence and item were stored as they were); now crypto/manifests/ refuses it before anything
is staged, and the station is unchanged.
"""

from pathlib import Path
from typing import Any

import pytest

from crypto import seal_bytes
from tests.support.bundles import manifest_document, manifest_entry, member, sealed_manifest, sha256, tar
from tests.support.intake import Intake
from tests.support.station import Station, assert_ok, assert_refused

HUGE = 2**63
POSTGRES_INTEGER = 2**31  # one above what an INTEGER column holds on PostgreSQL


def bundle(station: Station, intake: Intake, envelope: bytes, sequence: int = 1, **entry: Any) -> bytes:
    document = manifest_document(
        intake.key, [station.recipient], sequence, [manifest_entry(envelope, **entry)]
    )
    name, data = sealed_manifest(document, intake.key, [station.recipient])
    return tar(member(name, data), member(f"{sha256(envelope)}.age", envelope))


@pytest.mark.parametrize(
    ("sequence", "entry", "needle"),
    [
        (HUGE, {}, "sequence number is above 2147483647"),
        (POSTGRES_INTEGER, {}, "sequence number is above 2147483647"),
        (1, {"item": HUGE}, "manifest is malformed"),
        (1, {"item": POSTGRES_INTEGER}, "manifest is malformed"),
        (1, {"size": HUGE}, "manifest is malformed"),
    ],
    ids=["sequence-2^63", "sequence-2^31", "item-2^63", "item-2^31", "size-2^63"],
)
def test_an_integer_out_of_range_is_refused_in_one_line(
    station: Station, intake: Intake, tmp_path: Path, sequence: int, entry: dict[str, Any], needle: str
) -> None:
    envelope = seal_bytes(b"a message", [station.recipient])
    path = tmp_path / "bundle.tar"
    path.write_bytes(bundle(station, intake, envelope, sequence, **entry))
    before = station.snapshot()
    assert_refused(station.run("import", path), needle)
    station.assert_clean(before)
    # The same envelope in a bundle within bounds imports: only the integer was at fault.
    path.write_bytes(bundle(station, intake, envelope))
    assert "imported 1 item(s)" in assert_ok(station.run("import", path)).stdout
