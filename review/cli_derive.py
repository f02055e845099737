"""tamga-review derive: a working copy (metadata stripped, a clip cut) linked to its untouched original."""

import click

from review import derive
from review.cli_support import Context, clean_errors, pass_context


@click.command("derive")
@click.argument("item_id", metavar="ID", type=int)
@click.option("--strip-metadata", "strip", is_flag=True, help="Remove EXIF, GPS, device and other metadata.")
@click.option("--clip", metavar="START-END", help="Video or audio only: cut by stream copy, e.g. 1:05-1:30.")
@pass_context
@clean_errors
def derive_command(ctx: Context, item_id: int, strip: bool, clip: str | None) -> None:
    """Make a working copy of an item as a new item; the original never changes (a custody event).

    Example: tamga-review --station /media/station derive 3 --strip-metadata --clip 0:05-0:20
    """
    seconds = derive.parse_clip(clip) if clip is not None else None
    with ctx.station.sessions()() as db:
        made = derive.derive(ctx.station, db, ctx.unlock, item_id, ctx.actor, strip, seconds)
    click.echo(
        f"Derived item {made.item.id} from item {made.original.id} ({made.operation['operation']}): "
        f"{made.item.size} bytes, sha256 {made.item.content_sha256}"
    )
