"""The export manifest (intake -> station): written by `tamga-intake export`, read by `tamga-review import`.

Signed under `tamga/export/v1` and sealed to the station recipients (crypto/bundle.py). What is
built here parses here: the intake cannot write a manifest the station would refuse. Fields in
docs/bundle-format.md.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crypto import _tar
from crypto.bundle import FORMAT, encode_manifest
from crypto.envelope import Recipient
from crypto.errors import KeyFormatError, ManifestError
from crypto.manifests import _fields
from crypto.signing import SigningKey
from crypto.x25519 import X25519Recipient

CONTEXT = "tamga/export/v1"
KIND = "export"
FILE_CONTENT = "file-content"
FILE_METADATA = "file-metadata"
MESSAGE = "message"
ENVELOPE_KINDS = (FILE_CONTENT, FILE_METADATA, MESSAGE)
MAX_ENVELOPE_SIZE = _tar.MAX_MEMBER_SIZE  # a larger envelope cannot be a bundle member

_BAD_ENTRY = "bundle manifest is malformed: an envelope entry is invalid"
_MAX_RECIPIENT = 100  # an age1... X25519 recipient is 62 characters


@dataclass(frozen=True)
class ExportEntry:
    """One envelope of the bundle: its ciphertext's hash and size, what it is, whose it is."""

    sha256: str
    size: int
    kind: str
    submission: str
    item: int  # pairs a file's content with its metadata; a message is item 0
    source: str
    reply_recipient: str
    received: datetime.date

    def to_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "kind": self.kind,
            "submission": self.submission,
            "item": self.item,
            "source": self.source,
            "reply_recipient": self.reply_recipient,
            "received": self.received.isoformat(),
        }

    @classmethod
    def from_json(cls, raw: object, recipients_seen: set[str] | None = None) -> "ExportEntry":
        """Parse one entry; `recipients_seen` spares decoding a source's reply key once per envelope."""
        if not isinstance(raw, dict):
            raise ManifestError(_BAD_ENTRY)
        sha256, size, kind = raw.get("sha256"), raw.get("size"), raw.get("kind")
        submission, item, source = raw.get("submission"), raw.get("item"), raw.get("source")
        reply_recipient = raw.get("reply_recipient")
        if not (
            _fields.is_hex64(sha256)
            and _fields.is_integer(size, 0, MAX_ENVELOPE_SIZE)
            and kind in ENVELOPE_KINDS
            and _fields.is_id(submission)
            and _fields.is_integer(item, 0)
            and _fields.is_id(source)
            and isinstance(reply_recipient, str)
            and len(reply_recipient) <= _MAX_RECIPIENT
        ):
            raise ManifestError(_BAD_ENTRY)
        if recipients_seen is None or reply_recipient not in recipients_seen:
            try:
                X25519Recipient.parse(reply_recipient)
            except KeyFormatError:
                raise ManifestError(_BAD_ENTRY) from None
            if recipients_seen is not None:
                recipients_seen.add(reply_recipient)
        received = _fields.day(raw.get("received"), _BAD_ENTRY)
        return cls(sha256, size, str(kind), submission, item, source, reply_recipient, received)


@dataclass(frozen=True)
class ExportManifest:
    """What an export bundle holds and for whom; `sequence` only grows, per intake server."""

    sender: str  # the key id of the intake's signing key
    receivers: tuple[str, ...]  # the station recipients the manifest is sealed to
    sequence: int
    created: datetime.date
    envelopes: tuple[ExportEntry, ...]

    def to_document(self) -> dict[str, Any]:
        """The manifest as JSON; ManifestError if the station would refuse it."""
        document = {
            "format": FORMAT,
            "kind": KIND,
            "sender": self.sender,
            "receivers": list(self.receivers),
            "sequence": self.sequence,
            "created": self.created.isoformat(),
            "envelopes": [entry.to_json() for entry in self.envelopes],
        }
        ExportManifest.parse(document)
        return document

    def encode(self, key: SigningKey, seal_to: Sequence[Recipient]) -> tuple[str, bytes]:
        """The bundle's first member: signed under CONTEXT, sealed to the stations."""
        return encode_manifest(self.to_document(), key, CONTEXT, seal_to)

    def member_sizes(self) -> dict[str, int]:
        """sha256 -> size of every member the bundle must hold, for BundleReader.envelopes."""
        return {entry.sha256: entry.size for entry in self.envelopes}

    @classmethod
    def parse(cls, document: object, station: str | None = None, after: int = 0) -> "ExportManifest":
        """Check a verified document: `station` (a recipient) among its receivers, sequence above `after`."""
        raw = _fields.document_of(document, "bundle")
        if raw.get("format") != FORMAT:
            raise ManifestError("bundle manifest is not a tamga-bundle/v1 manifest")
        if raw.get("kind") != KIND:
            raise ManifestError("bundle is not an export from an intake server")
        receivers = raw.get("receivers")
        if not isinstance(receivers, list) or not all(isinstance(r, str) for r in receivers):
            raise ManifestError("bundle manifest is malformed: bad receivers")
        if station is not None and station not in receivers:
            raise ManifestError("bundle is meant for another station")
        sequence = _fields.sequence(raw.get("sequence"), "bundle", after)
        sender = raw.get("sender")
        if not _fields.is_key_id(sender):
            raise ManifestError("bundle manifest is malformed: bad sender")
        created = _fields.day(raw.get("created"), "bundle manifest is malformed: bad creation day")
        entries = raw.get("envelopes")
        if not isinstance(entries, list):
            raise ManifestError("bundle manifest is malformed: no envelope list")
        seen: set[str] = set()
        envelopes = tuple(ExportEntry.from_json(entry, seen) for entry in entries)
        if len({entry.sha256 for entry in envelopes}) != len(envelopes):
            raise ManifestError("bundle manifest lists the same envelope twice")
        return cls(sender, tuple(receivers), sequence, created, envelopes)
