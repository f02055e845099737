"""The manifests that cross the air gap, one typed definition each, read by both sides.

`export` (intake -> station) and `outbox` (station -> intake): each builds its document, parses
and checks a verified one, and refuses anything else with a one-line ManifestError (a CryptoError),
integers bounded so that every field fits the columns either side stores it in.
Layout: docs/bundle-format.md.
"""

from crypto.errors import ManifestError
from crypto.manifests.export import ExportEntry, ExportManifest
from crypto.manifests.outbox import OutboxEntry, OutboxManifest

__all__ = ["ExportEntry", "ExportManifest", "ManifestError", "OutboxEntry", "OutboxManifest"]
