"""tamga-review commands that answer sources: reply, export-outbox."""

import sys
from pathlib import Path
from typing import Any

import click

from review import items, outbox
from review.cli_support import Context, clean_errors, pass_context


@click.command()
@click.argument("item_id", metavar="ID", type=int)
@click.option(
    "--file", "text_file", type=click.File("r", encoding="utf-8"), help="Read the reply from a file."
)
@click.option("--message", help="The reply text (lands in your shell history: prefer stdin or --file).")
@pass_context
@clean_errors
def reply(ctx: Context, item_id: int, text_file: Any, message: str | None) -> None:
    """Seal a reply to the source of an item; it waits in the outbox (text from stdin, --file or --message).

    Example: echo "Which polling station was this?" | tamga-review --station /media/station reply 3
    """
    if message is not None:
        text = message
    elif text_file is not None:
        text = text_file.read()
    else:
        text = sys.stdin.read()
    with ctx.station.sessions()() as db:
        item = items.get_item(db, item_id)
        row = outbox.reply(ctx.station, db, ctx.unlock(), item, text, ctx.actor)
    click.echo(f"Reply {row.id} to the source of item {item_id} sealed and waiting in the outbox")


@click.command("export-outbox")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--server", metavar="TAMGAPUB1...", help="The intake server (needed when several are pinned).")
@pass_context
@clean_errors
def export_outbox(ctx: Context, out: Path, server: str | None) -> None:
    """Write the outbox for the intake server: sealed replies, acknowledgements, the custody head.

    Example: tamga-review --station /media/station export-outbox --out /media/usb/outbox.tar
    """
    with ctx.station.sessions()() as db:
        replies, acks = outbox.export_outbox(ctx.station, db, ctx.unlock(), out, ctx.actor, server)
    click.echo(f"{out}: {replies} reply(ies), {acks} acknowledgement(s)")
