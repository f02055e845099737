"""Reports: counts by incident, region, polling station and day, and the item list, as CSV, JSON or HTML.

By default a report leaves out what could expose a source or confirm a known file (GPS, device
serials and owner names, original file names, message text, source ids, and each file's SHA-256
and exact size). HTML is autoescaped and self-contained; CSV cells that a spreadsheet would run
as a formula are neutralised (review/safe_text.py). Writing one is a custody event.
"""

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from crypto.files import atomic_new_file
from review import custody, items, taxonomy
from review.models import Item
from review.safe_text import neutralise, spreadsheet_cell
from review.station import Station
from templates import TEMPLATE_DIR

FORMATS = ("csv", "json", "html")
# No comma in it: the CSV warning row stays one plain cell.
WARNING = (
    "WARNING: this report includes data that could identify sources (file names / GPS positions / "
    "device serials / owner names / message text / the SHA-256 hashes and exact sizes that confirm "
    "a known file)"
)


def _row(db: Session, item: Item, include_identifying: bool, texts: dict[int, str]) -> dict[str, Any]:
    facts = items.media_facts(item)
    row: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "received": item.received.isoformat(),
        "incidents": items.incidents_of(db, item.id),
        "polling_station": item.polling_station,
        "region": item.region,
        "settlement": item.settlement,
        "when": item.incident_time,
        "tags": items.tags_of(db, item.id),
        "media_type": facts.get("media_type"),
        "duration": facts.get("duration"),
    }
    if include_identifying:
        # A hash or an exact size lets whoever holds a copy of a file (or guesses a text) confirm it.
        row.update(size=item.size, sha256=item.content_sha256)
    row.update(duplicate_of=item.duplicate_of, identifying_metadata=items.identifying_of(item))
    if include_identifying:
        row.update(
            name=item.original_name,
            gps=facts.get("gps"),
            device_make=facts.get("device_make"),
            device_model=facts.get("device_model"),
            device_serial=facts.get("device_serial"),
            owner_name=facts.get("owner_name"),
            capture_time=facts.get("capture_time"),
            source=item.source_id,
            message=texts.get(item.id),
        )
    return row


def _day(row: dict[str, Any]) -> str:
    return (row["when"] or row["received"])[:10]


def build(
    db: Session, found: list[Item], include_identifying: bool, texts: dict[int, str] | None = None
) -> dict[str, Any]:
    rows = [_row(db, item, include_identifying, texts or {}) for item in found]
    names = taxonomy.incidents()
    by_incident = Counter(code for row in rows for code in row["incidents"])
    return {
        "includes_identifying_data": include_identifying,
        "items_total": len(rows),
        "counts": {
            "incident": [
                {"code": code, "name": names[code].name() if code in names else code, "items": count}
                for code, count in sorted(by_incident.items())
            ],
            "region": _counts(row["region"] for row in rows),
            "polling_station": _counts(row["polling_station"] for row in rows),
            "day": _counts(_day(row) for row in rows),
        },
        "items": rows,
    }


def _counts(values: Any) -> list[dict[str, Any]]:
    counted = Counter(value or "unknown" for value in values)
    return [{"value": value, "items": count} for value, count in sorted(counted.items())]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return spreadsheet_cell(str(value))


def to_csv(report: dict[str, Any]) -> str:
    """The item table first (what spreadsheets import), then an empty row, then the counts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if report["includes_identifying_data"]:
        writer.writerow([WARNING])
    rows = report["items"]
    columns = list(rows[0]) if rows else ["id"]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    writer.writerow([])
    writer.writerow(["count by", "value", "items"])
    for key, counts in report["counts"].items():
        for count in counts:
            writer.writerow([key, _cell(count.get("code", count.get("value"))), count["items"]])
    return out.getvalue()


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def to_html(report: dict[str, Any]) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(default=True)
    )
    environment.filters["visible"] = lambda value: neutralise(str(value)) if value is not None else ""
    return environment.get_template("review/report.html").render(report=report, warning=WARNING)


def render(report: dict[str, Any], fmt: str) -> str:
    return {"csv": to_csv, "json": to_json, "html": to_html}[fmt](report)


@dataclass(frozen=True)
class Written:
    document: str
    sha256: str
    items: int


def write(
    station: Station,
    db: Session,
    unlock: items.Unlock,
    fmt: str,
    out: Path | None,
    include_identifying: bool,
    where: items.Filter,
    actor: str,
) -> Written:
    """Build, render and write a report (out None: only returned, for stdout); a custody event.

    Warning: with include_identifying, messages are decrypted into it (each an `opened` event).
    """
    if out is not None:
        items.refuse_to_overwrite(out)
    keys = unlock()
    found = items.filtered(db, where)
    texts = {}
    if include_identifying:
        for item in found:
            if items.readable_message(item):
                texts[item.id] = items.read_message(station, db, keys, item, actor)
    document = render(build(db, found, include_identifying, texts), fmt)
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    custody.record(
        db,
        keys.signing,
        "reported",
        "report",
        actor,
        {"report_sha256": digest},
        {"format": fmt, "items": len(found), "includes_identifying_data": include_identifying},
    )
    if out is not None:
        with atomic_new_file(out) as target:
            target.write(document.encode("utf-8"))
    db.commit()
    return Written(document, digest, len(found))
