"""tamga-review commands that catalogue evidence: taxonomy, tag, status, note, report."""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from review import catalogue, items, report, taxonomy
from review.cli_support import Context, clean_errors, pass_context
from review.models import STATUSES

Command = TypeVar("Command", bound=Callable[..., Any])
_FILTER_OPTIONS = (
    click.option("--status", type=click.Choice(STATUSES), help="Only items with this status."),
    click.option("--incident", metavar="CODE", help="Only items tagged with this incident code."),
    click.option("--region", help="Only items in this region."),
    click.option("--polling-station", metavar="NUMBER", help="Only items from this polling station."),
)


def filter_options(command: Command) -> Command:
    """The options `list` and `report` choose items with (an items.Filter): status, incident, place."""
    for option in reversed(_FILTER_OPTIONS):
        command = option(command)
    return command


@click.command("taxonomy")
@click.option("--json", "as_json", is_flag=True)
@click.option("--language", type=click.Choice(["en", "ru", "kk"]), default="en", show_default=True)
@clean_errors
def taxonomy_command(as_json: bool, language: str) -> None:
    """Print the election incident taxonomy: codes and names.

    Example: tamga-review --station /media/station taxonomy --language ru
    """
    if as_json:
        click.echo(json.dumps(taxonomy.groups(), ensure_ascii=False, indent=2))
        return
    for group in taxonomy.groups():
        click.echo(f"{group['code']}: {group['names'][language]}")  # type: ignore[index]
        for incident in group["incidents"]:  # type: ignore[attr-defined]
            click.echo(f"  {incident['code']:<32} {incident['names'][language]}")


@click.command()
@click.argument("item_id", metavar="ID", type=int)
@click.option("--incident", "incidents", multiple=True, metavar="CODE", help="An incident code (repeatable).")
@click.option("--polling-station", metavar="NUMBER")
@click.option("--region", metavar="NAME")
@click.option("--settlement", metavar="NAME")
@click.option(
    "--when", metavar="ISO-8601", help="When it happened, with its UTC offset: 2024-03-17T14:02+05:00."
)
@click.option("--tag", "tags", multiple=True, metavar="WORD", help="A free tag (repeatable).")
@pass_context
@clean_errors
def tag(
    ctx: Context,
    item_id: int,
    incidents: tuple[str, ...],
    polling_station: str | None,
    region: str | None,
    settlement: str | None,
    when: str | None,
    tags: tuple[str, ...],
) -> None:
    """Record what an item shows: incidents, polling station, place, time, tags (a custody event).

    Example: tamga-review --station S tag 3 --incident ballot.stuffing --polling-station 112 --region Almaty
    """
    with ctx.station.sessions()() as db:
        catalogue.tag(
            db,
            ctx.unlock,
            item_id,
            ctx.actor,
            list(incidents),
            list(tags),
            polling_station,
            region,
            settlement,
            when,
        )
    click.echo(f"Tagged item {item_id}")


@click.command()
@click.argument("item_id", metavar="ID", type=int)
@click.argument("status", type=click.Choice(catalogue.REVIEW_STATUSES))
@pass_context
@clean_errors
def status(ctx: Context, item_id: int, status: str) -> None:
    """Set an item's review status (a custody event).

    Example: tamga-review --station /media/station status 3 verified
    """
    with ctx.station.sessions()() as db:
        catalogue.set_status(db, ctx.unlock, item_id, status, ctx.actor)
    click.echo(f"Item {item_id} is now {status}")


@click.command()
@click.argument("item_id", metavar="ID", type=int)
@click.option("--text", help="The note (else read from stdin).")
@pass_context
@clean_errors
def note(ctx: Context, item_id: int, text: str | None) -> None:
    """Add a reviewer's note to an item (a custody event).

    Example: echo "Matches the protocol photo of PS 112" | tamga-review --station S note 3
    """
    body = text if text is not None else sys.stdin.read()
    with ctx.station.sessions()() as db:
        catalogue.add_note(db, ctx.unlock, item_id, body, ctx.actor)
    click.echo(f"Noted item {item_id}")


@click.command("report")
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option(
    "--include-identifying",
    is_flag=True,
    help="Include file names, GPS, device serials, owner names, message text, and files' SHA-256 and "
    "exact sizes (says so at the top).",
)
@filter_options
@pass_context
@clean_errors
def report_command(
    ctx: Context,
    fmt: str,
    out: Path | None,
    include_identifying: bool,
    status: str | None,
    incident: str | None,
    region: str | None,
    polling_station: str | None,
) -> None:
    """Write a report: counts by incident, region, polling station and day, and the items (a custody event).

    Example: tamga-review --station /media/station report --format html --out report.html
    """
    where = items.Filter(status, incident, region, polling_station)
    with ctx.station.sessions()() as db:
        written = report.write(ctx.station, db, ctx.unlock, fmt, out, include_identifying, where, ctx.actor)
    if out is None:
        click.echo(written.document, nl=False)
    else:
        click.echo(f"Wrote {out} (sha256 {written.sha256})", err=True)
