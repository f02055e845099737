"""The field types both manifests share: hashes, ids, days, and integers every database can hold.

A signed manifest is still hostile input to the side that reads it: a well-signed integer of 2^63
must be refused here, with one line, not fail later as an OverflowError in a database driver.
"""

import datetime
import re
from typing import Any, TypeGuard

from crypto.errors import ManifestError

# PostgreSQL's INTEGER: the narrowest column either side stores a sequence number, count or id in.
MAX_INTEGER = 2**31 - 1
HEX64 = re.compile(r"[0-9a-f]{64}")  # a SHA-256, lower-case hex
ID = re.compile(r"[0-9a-zA-Z_-]{1,64}")  # a random id (submission, source)
KEY_ID = re.compile(r"[0-9a-f]{16}")  # crypto.signing.VerifyKey.key_id
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHOWN = 32


def is_integer(value: object, low: int, high: int = MAX_INTEGER) -> TypeGuard[int]:
    """An int (never a bool) from low to high inclusive."""
    return type(value) is int and low <= value <= high


def is_hex64(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and HEX64.fullmatch(value) is not None


def is_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and ID.fullmatch(value) is not None


def is_key_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and KEY_ID.fullmatch(value) is not None


def day(value: object, refusal: str) -> datetime.date:
    """A YYYY-MM-DD day, or ManifestError(refusal)."""
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ManifestError(refusal)
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ManifestError(refusal) from None


def document_of(document: object, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ManifestError(f"{what} manifest is malformed: not a JSON object")
    return document


def sequence(value: object, what: str, after: int) -> int:
    """A sequence number above `after` (the last one imported from that sender)."""
    if type(value) is int and value > MAX_INTEGER:
        raise ManifestError(f"{what} manifest is malformed: its sequence number is above {MAX_INTEGER}")
    if not is_integer(value, after + 1):
        shown = str(value)[:_SHOWN]
        raise ManifestError(
            f"{what} sequence {shown} is not above the last one imported ({after}): an old or replayed {what}"
        )
    return value
