"""Writing evidence packages: originals byte for byte, a manifest, SHA256SUMS and its SSHSIG signature.

A court's expert checks a package with `ssh-keygen -Y verify` and `sha256sum -c` alone, or with
`tamga-review verify-package` (review/package_verify.py). The layout is review/package_format.py's;
what a package proves is docs/evidence.md's. Writing one is a custody event of each item.
Warning: the originals are decrypted into the archive; nothing else plaintext touches the disk.
"""

import datetime
import hashlib
import json
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import _tar, sshsig
from crypto.files import atomic_new_file
from review import custody, evidence, items, package_format, taxonomy
from review.errors import ReviewError
from review.media import IDENTIFYING
from review.models import CustodyEvent, Item
from review.station import Keys, Station
from review.vault import Hashing

# What report.py also leaves out by default: facts that could lead to the source or their device.
IDENTIFYING_FACTS = (*IDENTIFYING, "device_make", "device_model", "capture_time")


@dataclass(frozen=True)
class Written:
    path: Path
    sha256: str
    sums_sha256: str
    items: list[int]


def _chosen(
    db: Session, item_ids: list[int], with_messages: bool, include_identifying: bool, with_derivatives: bool
) -> list[Item]:
    wanted = list(dict.fromkeys(item_ids))
    if with_derivatives:
        for item_id in list(wanted):
            items.get_item(db, item_id)
            wanted += [copy for copy in items.derivatives_of(db, item_id) if copy not in wanted]
    chosen = [items.get_item(db, item_id) for item_id in wanted]
    for item in chosen:
        if item.status == "undecryptable" or item.content_sha256 is None or item.size is None:
            raise ReviewError(f"item {item.id} is quarantined: its envelope does not open")
        if item.size > _tar.MAX_MEMBER_SIZE:
            raise ReviewError(f"item {item.id} is larger than a tar member can hold (8 GiB)")
        if item.kind == "message" and not with_messages:
            raise ReviewError(f"item {item.id} is a source's message: add --with-messages to package it")
        if item.identifying and not include_identifying:
            raise ReviewError(
                f"item {item.id}'s file itself carries identifying metadata ({item.identifying}): "
                "a package holds originals byte for byte, so add --include-identifying"
            )
    return chosen


def _extension(item: Item) -> str:
    if item.kind == "message":
        return "txt"
    sniffed = str(items.media_facts(item).get("media_type") or "application/octet-stream")
    media_type = item.declared_type if sniffed == "application/octet-stream" else sniffed
    guessed = mimetypes.guess_extension((media_type or "").split(";")[0].strip()) or ".bin"
    return guessed.lstrip(".")


def _incidents(db: Session, item: Item) -> list[dict[str, Any]]:
    known = taxonomy.incidents()
    found = []
    for code in items.incidents_of(db, item.id):
        incident = known.get(code)
        names = dict(incident.names) if incident else {}
        found.append({"code": code, "group": incident.group if incident else None, "names": names})
    return found


def _entry(db: Session, item: Item, include_identifying: bool, messages: dict[str, str]) -> dict[str, Any]:
    facts = items.media_facts(item)
    if not include_identifying:
        facts = {key: value for key, value in facts.items() if key not in IDENTIFYING_FACTS}
    entry: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "file": package_format.item_file(item.id, _extension(item)),
        "sha256": item.content_sha256,
        "size": item.size,
        "received": item.received.isoformat(),
        "status": item.status,
        "incidents": _incidents(db, item),
        "polling_station": item.polling_station,
        "region": item.region,
        "settlement": item.settlement,
        "when": item.incident_time,
        "tags": items.tags_of(db, item.id),
        "probe": item.probe_status,
        "media": facts,
        "identifying_metadata": item.identifying.split(",") if item.identifying else [],
        "duplicate_of": item.duplicate_of,
        "derived_from": item.derived_from,
    }
    if include_identifying:
        entry.update(name=item.original_name, declared_type=item.declared_type, source=item.source_id)
    if item.submission in messages:
        entry["message"] = messages[item.submission]
    return entry


def _messages(station: Station, db: Session, keys: Keys, chosen: list[Item], actor: str) -> dict[str, str]:
    """The text of each chosen item's submission message; opening one is a custody event."""
    submissions = {item.submission for item in chosen}
    found = db.scalars(
        select(Item)
        .where(Item.submission.in_(submissions), Item.kind == "message", Item.status != "undecryptable")
        .order_by(Item.id)
    )
    return {message.submission: items.read_message(station, db, keys, message, actor) for message in found}


def custody_excerpt(db: Session, chosen: list[Item]) -> dict[str, Any]:
    """Every signed record of these items; (seq, hash, object) of each event from the first to the head."""
    objects = [f"item:{item.id}" for item in chosen]
    records = list(
        db.scalars(select(CustodyEvent).where(CustodyEvent.object.in_(objects)).order_by(CustodyEvent.seq))
    )
    first = records[0].seq if records else 1
    chain = db.execute(
        select(CustodyEvent.seq, CustodyEvent.hash, CustodyEvent.object)
        .where(CustodyEvent.seq >= first)
        .order_by(CustodyEvent.seq)
    )
    return {
        "context": custody.CONTEXT,
        "records": [row.record for row in records],
        "chain": [{"seq": seq, "hash": digest, "object": obj} for seq, digest, obj in chain],
        "head": custody.head(db),
    }


def _write_original(
    archive: Hashing, station: Station, db: Session, keys: Keys, item: Item, name: str
) -> str:
    """Stream the plaintext into the archive; review/evidence.py refuses it unless it is what was recorded."""
    size = cast(int, item.size)
    archive.write(_tar.member_header(name, size))
    for chunk in evidence.plaintext(station, db, keys, item):
        archive.write(chunk)
    archive.write(_tar.padding(size))
    return cast(str, item.content_sha256)


def _member(archive: Hashing, name: str, data: bytes) -> str:
    archive.write(_tar.member_header(name, len(data)) + data + _tar.padding(len(data)))
    return hashlib.sha256(data).hexdigest()


def manifest_document(
    db: Session, station: Station, chosen: list[Item], include_identifying: bool, messages: dict[str, str]
) -> dict[str, Any]:
    key = station.verify_key
    return {
        "format": package_format.FORMAT,
        "created": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "station": {
            "verify_key": str(key),
            "fingerprint": key.fingerprint,
            "ssh_key": sshsig.public_key_text(key.public_key),
            "ssh_fingerprint": sshsig.fingerprint(key.public_key),
        },
        "includes_identifying_data": include_identifying,
        "includes_messages": bool(messages),
        "items": [_entry(db, item, include_identifying, messages) for item in chosen],
        "custody": custody_excerpt(db, chosen),
    }


def write_package(
    station: Station,
    db: Session,
    keys: Keys,
    item_ids: list[int],
    out: Path,
    actor: str,
    with_messages: bool = False,
    include_identifying: bool = False,
    with_derivatives: bool = False,
) -> Written:
    """Write the package to out (never overwrites), then record a `packaged` event for each item."""
    if os.path.lexists(out):
        raise ReviewError(f"{out} already exists: refusing to overwrite it")
    chosen = _chosen(db, item_ids, with_messages, include_identifying, with_derivatives)
    messages = _messages(station, db, keys, chosen, actor) if with_messages else {}
    document = manifest_document(db, station, chosen, include_identifying, messages)
    manifest = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    public_key = keys.signing.verify_key.public_key
    digests: dict[str, str] = {}
    with atomic_new_file(out) as target:
        archive = Hashing(target)
        for item, entry in zip(chosen, document["items"], strict=True):
            digests[entry["file"]] = _write_original(archive, station, db, keys, item, entry["file"])
        digests[package_format.MANIFEST] = _member(archive, package_format.MANIFEST, manifest)
        signers = sshsig.allowed_signers_line(package_format.PRINCIPAL, public_key) + "\n"
        digests[package_format.ALLOWED_SIGNERS] = _member(
            archive, package_format.ALLOWED_SIGNERS, signers.encode()
        )
        readme = package_format.verify_text(
            sshsig.fingerprint(public_key), keys.signing.verify_key.fingerprint
        )
        digests[package_format.VERIFY_TEXT] = _member(archive, package_format.VERIFY_TEXT, readme.encode())
        sums = package_format.sums_text(digests)
        _member(archive, package_format.SUMS, sums)
        signature = sshsig.sign(keys.signing, package_format.NAMESPACE, sums)
        _member(archive, package_format.SIGNATURE, signature.encode("ascii"))
        archive.write(_tar.end_of_archive())
    written = Written(
        out, archive.digest.hexdigest(), hashlib.sha256(sums).hexdigest(), [i.id for i in chosen]
    )
    try:
        for item in chosen:
            custody.record(
                db,
                keys.signing,
                "packaged",
                f"item:{item.id}",
                actor,
                {"content_sha256": item.content_sha256 or "", "package_sha256": written.sha256},
                {
                    "items": written.items,
                    "sha256sums_sha256": written.sums_sha256,
                    "with_messages": with_messages,
                    "includes_identifying_data": include_identifying,
                    "to": str(out.resolve()),
                },
            )
        db.commit()
    except BaseException:
        out.unlink(missing_ok=True)  # a package the log does not record must not exist
        raise
    return written
