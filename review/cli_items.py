"""tamga-review commands that read the catalogue's items: list, show, extract."""

import json
from pathlib import Path

import click

from review import cli_catalogue, items
from review.cli_support import Context, clean_errors, pass_context
from review.safe_text import one_line


@click.command("list")
@cli_catalogue.filter_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_context
@clean_errors
def list_command(
    ctx: Context,
    status: str | None,
    incident: str | None,
    region: str | None,
    polling_station: str | None,
    as_json: bool,
) -> None:
    """List catalogue items, optionally filtered.

    Example: tamga-review --station /media/station list --incident ballot.stuffing --region Almaty --json
    """
    with ctx.station.sessions()() as db:
        rows = items.listing(db, items.Filter(status, incident, region, polling_station))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        name = one_line(row["name"] or "") or "-"
        if row["derived_from"] is not None:
            name = f"{name}  (working copy of item {row['derived_from']})"
        click.echo(
            f"{row['id']:>5}  {row['kind']:<7}  {row['status']:<13}  {row['received']}  "
            f"{row['size'] if row['size'] is not None else '?':>12}  {name}"
        )


@click.command()
@click.argument("item_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_context
@clean_errors
def show(ctx: Context, item_id: int, as_json: bool) -> None:
    """Show one item; a message's text is decrypted (a custody event) with control characters made visible.

    Example: tamga-review --station /media/station show 3
    """
    with ctx.station.sessions()() as db:
        facts = items.describe(ctx.station, db, ctx.unlock, item_id, ctx.actor)
    if as_json:
        click.echo(json.dumps(facts, ensure_ascii=False, indent=2))
        return
    for key, value in facts.items():
        if key != "text":
            click.echo(f"{key}: {one_line(str(value)) if value is not None else '-'}")
    if "text" in facts:
        click.echo("")
        click.echo(facts["text"])


@click.command()
@click.argument("item_id", metavar="ID", type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@clean_errors
def extract(ctx: Context, item_id: int, out: Path) -> None:
    """Write an item's original bytes to a new file, only after the envelope fully verified.

    Example: tamga-review --station /media/station extract 3 --out ~/case/ballot-stuffing.mp4
    """
    with ctx.station.sessions()() as db:
        size = items.extract(ctx.station, db, ctx.unlock, item_id, out, ctx.actor)
    click.echo(f"Wrote {size} bytes to {out}")
