"""The two manifests that cross the air gap (crypto/manifests/): built, parsed and refused in one place.

Each refusal is a ManifestError (a BundleError, so a CryptoError both CLIs already print as one
line) with its exact message; every integer field is bounded, so a well-signed 2^63 is refused
here and never reaches a database driver.
"""

import datetime
import io
import json
from typing import Any

import pytest

from crypto import CryptoError, X25519Identity
from crypto.bundle import BundleReader, write_bundle
from crypto.errors import BundleError, ManifestError
from crypto.manifests import ExportEntry, ExportManifest, OutboxEntry, OutboxManifest
from crypto.manifests import export as export_format
from crypto.manifests import outbox as outbox_format
from crypto.manifests._fields import MAX_INTEGER
from crypto.signing import SigningKey, canonical_json

SERVER = SigningKey.generate()
STATION = SigningKey.generate()
STATION_IDENTITY = X25519Identity.generate()
REPLY_RECIPIENT = str(X25519Identity.generate().recipient)
DAY = datetime.date(2026, 11, 28)
HUGE = 2**63  # what used to end in an OverflowError


def export_manifest(**changes: Any) -> ExportManifest:
    entries = (
        ExportEntry("a" * 64, 120, "message", "5" * 32, 0, "b" * 32, REPLY_RECIPIENT, DAY),
        ExportEntry("c" * 64, 4096, "file-content", "5" * 32, 1, "b" * 32, REPLY_RECIPIENT, DAY),
        ExportEntry("d" * 64, 300, "file-metadata", "5" * 32, 1, "b" * 32, REPLY_RECIPIENT, DAY),
    )
    fields: dict[str, Any] = {
        "sender": SERVER.verify_key.key_id,
        "receivers": (str(STATION_IDENTITY.recipient),),
        "sequence": 42,
        "created": DAY,
        "envelopes": entries,
        **changes,
    }
    return ExportManifest(**fields)


def outbox_manifest(**changes: Any) -> OutboxManifest:
    fields: dict[str, Any] = {
        "sender": STATION.verify_key.key_id,
        "receiver": str(SERVER.verify_key),
        "sequence": 7,
        "created": DAY,
        "custody_head": "e" * 64,
        "custody_events": 31,
        "acknowledged": ("a" * 64, "c" * 64),
        "envelopes": (OutboxEntry("f" * 64, 250, "b" * 32, 3),),
        **changes,
    }
    return OutboxManifest(**fields)


def export_document(**changes: Any) -> dict[str, Any]:
    return {**export_manifest().to_document(), **changes}


def export_entry(**changes: Any) -> dict[str, Any]:
    return {**export_manifest().envelopes[0].to_json(), **changes}


def outbox_document(**changes: Any) -> dict[str, Any]:
    return {**outbox_manifest().to_document(), **changes}


def reply_entry(**changes: Any) -> dict[str, Any]:
    return {**outbox_manifest().envelopes[0].to_json(), **changes}


def refusal(parse: Any, document: Any, **checks: Any) -> str:
    with pytest.raises(ManifestError) as caught:
        parse(document, **checks)
    return str(caught.value)


# --- the layouts ----------------------------------------------------------------------------


def test_the_context_strings_are_fixed() -> None:
    """Changing one would make every bundle in transit unreadable: they are part of the signed bytes."""
    assert export_format.CONTEXT == "tamga/export/v1"
    assert outbox_format.CONTEXT == "tamga/outbox/v1"
    assert export_format.ENVELOPE_KINDS == ("file-content", "file-metadata", "message")


def test_the_export_document_layout() -> None:
    document = export_manifest().to_document()
    assert document == {
        "format": "tamga-bundle/v1",
        "kind": "export",
        "sender": SERVER.verify_key.key_id,
        "receivers": [str(STATION_IDENTITY.recipient)],
        "sequence": 42,
        "created": "2026-11-28",
        "envelopes": [
            {
                "sha256": "a" * 64,
                "size": 120,
                "kind": "message",
                "submission": "5" * 32,
                "item": 0,
                "source": "b" * 32,
                "reply_recipient": REPLY_RECIPIENT,
                "received": "2026-11-28",
            },
            document["envelopes"][1],
            document["envelopes"][2],
        ],
    }
    assert [e["kind"] for e in document["envelopes"]] == ["message", "file-content", "file-metadata"]


def test_the_outbox_document_layout() -> None:
    assert outbox_manifest().to_document() == {
        "format": "tamga-bundle/v1",
        "kind": "outbox",
        "sender": STATION.verify_key.key_id,
        "receiver": str(SERVER.verify_key),
        "sequence": 7,
        "created": "2026-11-28",
        "custody_head": "e" * 64,
        "custody_events": 31,
        "acknowledged": ["a" * 64, "c" * 64],
        "envelopes": [{"sha256": "f" * 64, "size": 250, "kind": "reply", "source": "b" * 32, "reply": 3}],
    }


@pytest.mark.parametrize("manifest", [export_manifest(), export_manifest(envelopes=())])
def test_an_export_manifest_round_trips(manifest: ExportManifest) -> None:
    document = json.loads(canonical_json(manifest.to_document()))
    assert ExportManifest.parse(document) == manifest
    assert ExportManifest.parse(document, str(STATION_IDENTITY.recipient), 41) == manifest


@pytest.mark.parametrize("manifest", [outbox_manifest(), outbox_manifest(envelopes=(), acknowledged=())])
def test_an_outbox_manifest_round_trips(manifest: OutboxManifest) -> None:
    document = json.loads(canonical_json(manifest.to_document()))
    assert OutboxManifest.parse(document) == manifest
    assert OutboxManifest.parse(document, str(SERVER.verify_key), 6) == manifest


def test_an_encoded_export_manifest_opens_verifies_and_parses_through_a_bundle() -> None:
    manifest = export_manifest(envelopes=())
    bundle = io.BytesIO()
    write_bundle(bundle, manifest.encode(SERVER, [STATION_IDENTITY.recipient]), [])
    bundle.seek(0)
    reader = BundleReader(bundle)
    read = reader.manifest(export_format.CONTEXT, [SERVER.verify_key], [STATION_IDENTITY])
    assert ExportManifest.parse(read.document, str(STATION_IDENTITY.recipient), 0) == manifest
    assert list(reader.envelopes(manifest.member_sizes())) == []


def test_an_encoded_outbox_manifest_verifies_in_the_clear_and_parses_through_a_bundle() -> None:
    manifest = outbox_manifest(envelopes=())
    bundle = io.BytesIO()
    write_bundle(bundle, manifest.encode(STATION), [])
    bundle.seek(0)
    reader = BundleReader(bundle)
    read = reader.manifest(outbox_format.CONTEXT, [STATION.verify_key])
    assert OutboxManifest.parse(read.document, str(SERVER.verify_key), 0) == manifest


def test_member_sizes_name_every_listed_envelope() -> None:
    assert export_manifest().member_sizes() == {"a" * 64: 120, "c" * 64: 4096, "d" * 64: 300}
    assert outbox_manifest().member_sizes() == {"f" * 64: 250}


def test_a_manifest_error_is_a_bundle_error_both_clis_print_as_one_line() -> None:
    assert issubclass(ManifestError, BundleError)
    assert issubclass(ManifestError, CryptoError)


def test_extra_fields_are_ignored_for_later_versions() -> None:
    document = export_document(note="added later", envelopes=[export_entry(note="later too")])
    assert ExportManifest.parse(document).envelopes[0] == export_manifest().envelopes[0]


# --- checks against the reader's state ------------------------------------------------------


def test_an_export_for_another_station_is_refused() -> None:
    other = str(X25519Identity.generate().recipient)
    assert refusal(ExportManifest.parse, export_document(), station=other) == (
        "bundle is meant for another station"
    )


def test_an_outbox_for_another_server_is_refused() -> None:
    other = str(SigningKey.generate().verify_key)
    assert refusal(OutboxManifest.parse, outbox_document(), server=other) == (
        "this outbox is meant for another intake server"
    )


@pytest.mark.parametrize("after", [42, 43, MAX_INTEGER])
def test_an_export_sequence_not_above_the_last_is_refused(after: int) -> None:
    assert refusal(ExportManifest.parse, export_document(), after=after) == (
        f"bundle sequence 42 is not above the last one imported ({after}): an old or replayed bundle"
    )


@pytest.mark.parametrize("after", [7, 8])
def test_an_outbox_sequence_not_above_the_last_is_refused(after: int) -> None:
    assert refusal(OutboxManifest.parse, outbox_document(), after=after) == (
        f"outbox sequence 7 is not above the last one imported ({after}): an old or replayed outbox"
    )


def test_a_sequence_shown_in_a_refusal_is_cut_short() -> None:
    message = refusal(ExportManifest.parse, export_document(sequence="9" * 5000))
    assert message == (
        f"bundle sequence {'9' * 32} is not above the last one imported (0): an old or replayed bundle"
    )


# --- every field, bad -----------------------------------------------------------------------

BAD_EXPORT_ENTRY = "bundle manifest is malformed: an envelope entry is invalid"
NOT_ABOVE = "bundle sequence {} is not above the last one imported (0): an old or replayed bundle"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "bundle manifest is malformed: not a JSON object"),
        (export_document(format="tamga-bundle/v2"), "bundle manifest is not a tamga-bundle/v1 manifest"),
        (export_document(kind="outbox"), "bundle is not an export from an intake server"),
        (export_document(receivers="age1..."), "bundle manifest is malformed: bad receivers"),
        (export_document(receivers=[1]), "bundle manifest is malformed: bad receivers"),
        (export_document(sequence="9"), NOT_ABOVE.format("9")),
        (export_document(sequence=True), NOT_ABOVE.format("True")),
        (export_document(sequence=0), NOT_ABOVE.format("0")),
        (export_document(sequence=-HUGE), NOT_ABOVE.format(-HUGE)),
        (
            export_document(sequence=MAX_INTEGER + 1),
            "bundle manifest is malformed: its sequence number is above 2147483647",
        ),
        (
            export_document(sequence=HUGE),
            "bundle manifest is malformed: its sequence number is above 2147483647",
        ),
        (export_document(sender="tamgapub1..."), "bundle manifest is malformed: bad sender"),
        (export_document(sender=None), "bundle manifest is malformed: bad sender"),
        (export_document(created="yesterday"), "bundle manifest is malformed: bad creation day"),
        (export_document(created="20261128"), "bundle manifest is malformed: bad creation day"),
        (export_document(created="2026-02-30"), "bundle manifest is malformed: bad creation day"),
        (export_document(envelopes={}), "bundle manifest is malformed: no envelope list"),
        (
            export_document(envelopes=[export_entry(), export_entry(item=1)]),
            "bundle manifest lists the same envelope twice",
        ),
    ],
)
def test_a_bad_export_document_is_refused(document: Any, message: str) -> None:
    assert refusal(ExportManifest.parse, document) == message


@pytest.mark.parametrize(
    "changes",
    [
        {"sha256": "A" * 64},
        {"sha256": "a" * 63},
        {"sha256": None},
        {"size": -1},
        {"size": "12"},
        {"size": True},
        {"size": export_format.MAX_ENVELOPE_SIZE + 1},
        {"size": HUGE},
        {"kind": "executable"},
        {"kind": "reply"},
        {"submission": "../../etc"},
        {"submission": "x" * 65},
        {"item": -1},
        {"item": False},
        {"item": MAX_INTEGER + 1},
        {"item": HUGE},
        {"source": ""},
        {"source": 5},
        {"reply_recipient": "age1nope"},
        {"reply_recipient": 5},
        {"reply_recipient": REPLY_RECIPIENT + "q" * 40},
        {"received": "yesterday"},
        {"received": None},
    ],
    ids=lambda changes: "-".join(f"{k}={str(v)[:12]}" for k, v in changes.items()),
)
def test_a_bad_export_entry_is_refused(changes: dict[str, Any]) -> None:
    document = export_document(envelopes=[export_entry(**changes)])
    assert refusal(ExportManifest.parse, document) == BAD_EXPORT_ENTRY


@pytest.mark.parametrize("missing", list(export_entry()))
def test_an_export_entry_missing_a_field_is_refused(missing: str) -> None:
    entry = export_entry()
    del entry[missing]
    assert refusal(ExportManifest.parse, export_document(envelopes=[entry])) == BAD_EXPORT_ENTRY


def test_each_reply_recipient_is_checked_even_when_an_earlier_one_was_good() -> None:
    damaged = REPLY_RECIPIENT[:-1] + ("q" if REPLY_RECIPIENT[-1] != "q" else "p")  # a bad checksum
    entries = [export_entry(), export_entry(sha256="c" * 64, reply_recipient=damaged)]
    assert refusal(ExportManifest.parse, export_document(envelopes=entries)) == BAD_EXPORT_ENTRY


def test_an_export_entry_that_is_no_object_is_refused() -> None:
    assert refusal(ExportManifest.parse, export_document(envelopes=["a" * 64])) == BAD_EXPORT_ENTRY


@pytest.mark.parametrize(
    "entry",
    [
        export_entry(size=export_format.MAX_ENVELOPE_SIZE),
        export_entry(size=0),
        export_entry(item=MAX_INTEGER),
    ],
    ids=["largest-size", "empty", "largest-item"],
)
def test_export_integers_at_their_bounds_are_accepted(entry: dict[str, Any]) -> None:
    assert (
        ExportManifest.parse(export_document(sequence=MAX_INTEGER, envelopes=[entry])).sequence == MAX_INTEGER
    )


OUTBOX_NOT_ABOVE = "outbox sequence {} is not above the last one imported (0): an old or replayed outbox"
BAD_REPLY = "outbox manifest is malformed: bad reply entries"
BAD_HEAD = "outbox manifest is malformed: bad custody head"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{}", "outbox manifest is malformed: not a JSON object"),
        (outbox_document(format="tamga-bundle/v2"), "outbox manifest is not a tamga-bundle/v1 manifest"),
        (outbox_document(kind="export"), "this bundle is not an outbox from a review station"),
        (outbox_document(receiver=None), "this outbox is meant for another intake server"),
        (outbox_document(sequence="1"), OUTBOX_NOT_ABOVE.format("1")),
        (outbox_document(sequence=0), OUTBOX_NOT_ABOVE.format("0")),
        (
            outbox_document(sequence=HUGE),
            "outbox manifest is malformed: its sequence number is above 2147483647",
        ),
        (outbox_document(acknowledged="a" * 64), "outbox manifest is malformed: bad acknowledgements"),
        (outbox_document(acknowledged=["xyz"]), "outbox manifest is malformed: bad acknowledgements"),
        (outbox_document(envelopes={}), BAD_REPLY),
        (
            outbox_document(envelopes=[reply_entry(), reply_entry(reply=4)]),
            "outbox manifest lists the same reply twice",
        ),
        (outbox_document(custody_head=None), BAD_HEAD),
        (outbox_document(custody_head="E" * 64), BAD_HEAD),
        (outbox_document(custody_events="31"), BAD_HEAD),
        (outbox_document(custody_events=0), BAD_HEAD),
        (outbox_document(custody_events=MAX_INTEGER + 1), BAD_HEAD),
        (outbox_document(custody_events=HUGE), BAD_HEAD),
        (outbox_document(sender=""), "outbox manifest is malformed: bad sender"),
        (outbox_document(created="2026-13-01"), "outbox manifest is malformed: bad creation day"),
    ],
)
def test_a_bad_outbox_document_is_refused(document: Any, message: str) -> None:
    assert refusal(OutboxManifest.parse, document) == message


@pytest.mark.parametrize(
    "changes",
    [
        {"sha256": "F" * 64},
        {"size": 0},
        {"size": outbox_format.MAX_REPLY_ENVELOPE + 1},
        {"size": HUGE},
        {"size": "250"},
        {"kind": "message"},
        {"source": "../etc"},
        {"reply": "1"},
        {"reply": True},
        {"reply": 0},
        {"reply": MAX_INTEGER + 1},
        {"reply": HUGE},
    ],
    ids=lambda changes: "-".join(f"{k}={str(v)[:12]}" for k, v in changes.items()),
)
def test_a_bad_reply_entry_is_refused(changes: dict[str, Any]) -> None:
    assert refusal(OutboxManifest.parse, outbox_document(envelopes=[reply_entry(**changes)])) == BAD_REPLY


def test_outbox_integers_at_their_bounds_are_accepted() -> None:
    document = outbox_document(
        sequence=MAX_INTEGER,
        custody_events=MAX_INTEGER,
        envelopes=[reply_entry(reply=MAX_INTEGER, size=outbox_format.MAX_REPLY_ENVELOPE)],
    )
    parsed = OutboxManifest.parse(document)
    assert (parsed.sequence, parsed.custody_events, parsed.envelopes[0].reply) == (MAX_INTEGER,) * 3


# --- what is built is what the other side accepts -------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"sequence": HUGE}, {"sequence": 0}, {"sender": "not a key id"}, {"receivers": (5,)}],
    ids=["sequence-huge", "sequence-zero", "sender", "receivers"],
)
def test_an_export_the_station_would_refuse_is_not_built(changes: dict[str, Any]) -> None:
    manifest = export_manifest(**changes)
    with pytest.raises(ManifestError):
        manifest.encode(SERVER, [STATION_IDENTITY.recipient])


def test_an_export_entry_the_station_would_refuse_is_not_built() -> None:
    entry = ExportEntry("a" * 64, HUGE, "message", "5" * 32, 0, "b" * 32, REPLY_RECIPIENT, DAY)
    with pytest.raises(ManifestError, match="an envelope entry is invalid"):
        export_manifest(envelopes=(entry,)).to_document()


@pytest.mark.parametrize(
    "changes",
    [
        {"sequence": HUGE},
        {"custody_events": HUGE},
        {"custody_head": "not a hash"},
        {"envelopes": (OutboxEntry("f" * 64, outbox_format.MAX_REPLY_ENVELOPE + 1, "b" * 32, 3),)},
        {"envelopes": (OutboxEntry("f" * 64, 250, "b" * 32, HUGE),)},
    ],
    ids=["sequence", "custody-events", "custody-head", "reply-size", "reply-id"],
)
def test_an_outbox_the_intake_would_refuse_is_not_built(changes: dict[str, Any]) -> None:
    with pytest.raises(ManifestError):
        outbox_manifest(**changes).encode(STATION)
