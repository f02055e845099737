"""The outbox manifest (station -> intake): written by `tamga-review export-outbox`, read by
`tamga-intake import-replies`.

Signed under `tamga/outbox/v1`, not sealed (the intake holds no age identity). What is built here
parses here: the station cannot write an outbox the intake would refuse. Fields in
docs/bundle-format.md.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from crypto.bundle import FORMAT, encode_manifest
from crypto.errors import ManifestError
from crypto.manifests import _fields
from crypto.signing import SigningKey

CONTEXT = "tamga/outbox/v1"
KIND = "outbox"
REPLY = "reply"
MAX_REPLY_ENVELOPE = 1024 * 1024


@dataclass(frozen=True)
class OutboxEntry:
    """One sealed reply: its ciphertext's hash and size, the source it is for, its id on the station."""

    sha256: str
    size: int
    source: str
    reply: int

    def to_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "kind": REPLY,
            "source": self.source,
            "reply": self.reply,
        }

    @classmethod
    def from_json(cls, raw: object) -> "OutboxEntry":
        if not isinstance(raw, dict):
            raise ManifestError("outbox manifest is malformed: bad reply entries")
        sha256, size, source, reply = raw.get("sha256"), raw.get("size"), raw.get("source"), raw.get("reply")
        if not (
            _fields.is_hex64(sha256)
            and _fields.is_integer(size, 1, MAX_REPLY_ENVELOPE)
            and raw.get("kind") == REPLY
            and _fields.is_id(source)
            and _fields.is_integer(reply, 1)
        ):
            raise ManifestError("outbox manifest is malformed: bad reply entries")
        return cls(sha256, size, source, reply)


@dataclass(frozen=True)
class OutboxManifest:
    """Replies for one intake server, the envelopes the station holds, and its custody-log head."""

    sender: str  # the key id of the station's signing key
    receiver: str  # the intake server's verify key, tamgapub1...
    sequence: int  # only grows, per station and server
    created: datetime.date
    custody_head: str  # the hash of the station's last custody event
    custody_events: int  # how many events its log holds
    acknowledged: tuple[str, ...]  # ciphertext hashes of envelopes safely in the station's vault
    envelopes: tuple[OutboxEntry, ...]

    def to_document(self) -> dict[str, Any]:
        """The manifest as JSON; ManifestError if the intake would refuse it."""
        document = {
            "format": FORMAT,
            "kind": KIND,
            "sender": self.sender,
            "receiver": self.receiver,
            "sequence": self.sequence,
            "created": self.created.isoformat(),
            "custody_head": self.custody_head,
            "custody_events": self.custody_events,
            "acknowledged": list(self.acknowledged),
            "envelopes": [entry.to_json() for entry in self.envelopes],
        }
        OutboxManifest.parse(document)
        return document

    def encode(self, key: SigningKey) -> tuple[str, bytes]:
        """The bundle's first member: signed under CONTEXT, in the clear."""
        return encode_manifest(self.to_document(), key, CONTEXT, [])

    def member_sizes(self) -> dict[str, int]:
        """sha256 -> size of every member the bundle must hold, for BundleReader.envelopes."""
        return {entry.sha256: entry.size for entry in self.envelopes}

    @classmethod
    def parse(cls, document: object, server: str | None = None, after: int = 0) -> "OutboxManifest":
        """Check a verified document: meant for `server` (a verify key), sequence above `after`."""
        raw = _fields.document_of(document, "outbox")
        if raw.get("format") != FORMAT:
            raise ManifestError("outbox manifest is not a tamga-bundle/v1 manifest")
        if raw.get("kind") != KIND:
            raise ManifestError("this bundle is not an outbox from a review station")
        receiver = raw.get("receiver")
        if not isinstance(receiver, str) or (server is not None and receiver != server):
            raise ManifestError("this outbox is meant for another intake server")
        sequence = _fields.sequence(raw.get("sequence"), "outbox", after)
        acknowledged = raw.get("acknowledged")
        if not isinstance(acknowledged, list) or not all(_fields.is_hex64(a) for a in acknowledged):
            raise ManifestError("outbox manifest is malformed: bad acknowledgements")
        entries = raw.get("envelopes")
        if not isinstance(entries, list):
            raise ManifestError("outbox manifest is malformed: bad reply entries")
        envelopes = tuple(OutboxEntry.from_json(entry) for entry in entries)
        if len({entry.sha256 for entry in envelopes}) != len(envelopes):
            raise ManifestError("outbox manifest lists the same reply twice")
        head, events = raw.get("custody_head"), raw.get("custody_events")
        if not _fields.is_hex64(head) or not _fields.is_integer(events, 1):
            raise ManifestError("outbox manifest is malformed: bad custody head")
        sender = raw.get("sender")
        if not _fields.is_key_id(sender):
            raise ManifestError("outbox manifest is malformed: bad sender")
        created = _fields.day(raw.get("created"), "outbox manifest is malformed: bad creation day")
        return cls(sender, receiver, sequence, created, head, events, tuple(acknowledged), envelopes)
