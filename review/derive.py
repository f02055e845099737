"""Working copies: metadata stripped or a clip cut, made from an original that never changes.

The original is decrypted (both hashes checked, review/evidence.py) into a private temporary
directory; the sandboxed worker (review/media.py) writes the copy beside it; the copy is probed,
sealed to the station's own recipient into the vault, catalogued with `derived_from`, and a
`derived` custody event names both items' hashes and the operation. The directory is removed.
Warning: plaintext exists only in that directory, for the length of one command.
"""

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from review import catalogue, evidence, items, media
from review.errors import ReviewError
from review.items import Unlock
from review.models import Item
from review.station import Station
from review.vault import Vault, file_sha256, private_copy

# The container a stream copy is written in: the original's own.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/tiff": "tif",
    "image/bmp": "bmp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/3gpp": "3gp",
    "video/x-matroska": "mkv",
    "video/x-msvideo": "avi",
    "application/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
}
_MOMENT = re.compile(r"(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Derived:
    item: Item
    original: Item
    operation: dict[str, Any]


def parse_moment(text: str) -> float:
    """Seconds from `90`, `1:30`, `00:01:30.5`."""
    match = _MOMENT.fullmatch(text.strip())
    if match is None:
        raise ReviewError(f"--clip time {text!r} is not seconds or [HH:]MM:SS")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_clip(text: str) -> tuple[float, float]:
    """`START-END`, each seconds or [HH:]MM:SS, START before END."""
    start, dash, end = text.partition("-")
    if not dash:
        raise ReviewError(f"--clip {text!r} is not START-END, e.g. 1:05-1:30")
    clip = parse_moment(start), parse_moment(end)
    if clip[0] >= clip[1]:
        raise ReviewError(f"--clip {text!r} ends before it starts")
    return clip


def _checked(item: Item, strip: bool, clip: tuple[float, float] | None) -> str:
    """Refuse what cannot be derived before the passphrase is asked; the copy's file extension."""
    if item.kind != "file":
        raise ReviewError(f"item {item.id} is a message: only files have working copies")
    if item.status == "undecryptable":
        raise ReviewError(f"item {item.id} is quarantined: its envelope does not open")
    if not strip and clip is None:
        raise ReviewError("nothing to derive: give --strip-metadata, --clip START-END or both")
    media_type = str(items.media_facts(item).get("media_type") or "")
    extension = EXTENSIONS.get(media_type)
    if extension is None:
        raise ReviewError(f"item {item.id} is {media_type or 'of unknown type'}: no working copy of it")
    if clip is not None:
        if media.family(media_type) != "av":
            raise ReviewError(f"item {item.id} is an image: --clip is for video and audio")
        duration = items.media_facts(item).get("duration")
        if isinstance(duration, int | float) and clip[0] >= duration:
            raise ReviewError(f"--clip starts after the end of item {item.id} ({duration} s)")
    return extension


def derive(
    station: Station,
    db: Session,
    unlock: Unlock,
    item_id: int,
    actor: str,
    strip: bool,
    clip: tuple[float, float] | None,
) -> Derived:
    """Make, seal and catalogue one working copy of item_id; the original's envelope is only read."""
    original = items.get_item(db, item_id)
    extension = _checked(original, strip, clip)
    keys = unlock()
    steps = [name for name, wanted in (("strip-metadata", strip), ("clip", clip is not None)) if wanted]
    operation: dict[str, Any] = {"operation": "+".join(steps)}
    if clip is not None:  # in milliseconds: signed documents hold no floats
        operation["clip_ms"] = [round(clip[0] * 1000), round(clip[1] * 1000)]
    with private_copy() as (plain, path):
        for chunk in evidence.plaintext(station, db, keys, original):
            plain.write(chunk)
        plain.close()
        copy = path.with_name(f"working.{extension}")
        media.derive(path, copy, strip, clip)
        facts = media.probe(copy)
        if strip and facts.identifying:
            raise ReviewError(
                f"the working copy still carries identifying metadata ({', '.join(facts.identifying)}): "
                "nothing was kept"
            )
        content = media.Content(file_sha256(copy), copy.stat().st_size, facts)
        staging = Vault(station.vault_dir).staging()
        try:
            with open(copy, "rb") as src:
                envelope = staging.seal(src, [station.recipient])
            item = catalogue.add_derivative(db, keys.signing, actor, original, envelope, content, operation)
            staging.commit()
            db.commit()
        except BaseException:
            staging.discard()
            db.rollback()
            raise
    return Derived(item, original, operation)
