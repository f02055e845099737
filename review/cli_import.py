"""tamga-review import: verify and import transfer bundles.

Its start is overlapped: the identity's scrypt unlock (2^18, about 0.8 s, in C without the GIL)
runs on a thread while this thread loads the importer's modules (SQLAlchemy and the catalogue,
about 0.5 s) and opens the catalogue, so the two cost the time of the longer one. That is why
`review.importer` is imported inside the command and why review/cli.py loads each command's
module only when it runs (docs/crypto-speed.md).
"""

from collections.abc import Callable
from pathlib import Path

import click

from review.cli_support import Context, clean_errors, loading_modules, pass_context


def _progress() -> Callable[[int, int], None]:
    """Report a large import every 5%."""
    shown = [-1]

    def report(done: int, total: int) -> None:
        step = done * 20 // max(total, 1)
        if total >= 64 * 1024 * 1024 and step > shown[0]:
            shown[0] = step
            click.echo(f"  {step * 5:3d}%  {done // 2**20} MiB of {total // 2**20} MiB", err=True)

    return report


@click.command("import")
@click.argument(
    "bundles", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@pass_context
@clean_errors
def import_command(ctx: Context, bundles: tuple[Path, ...]) -> None:
    """Verify and import transfer bundles, in the order given. A faulty bundle imports nothing.

    Example: tamga-review --station /media/station import /media/usb/tamga.tar
    """
    unlocking = ctx.start_unlock()
    with loading_modules():
        from review import importer  # loaded while the identity unlocks (see the docstring)

    sessions = ctx.station.sessions()
    keys = unlocking.result()
    with sessions() as db:
        for path in bundles:
            report = importer.import_bundle(ctx.station, db, keys, path, ctx.actor, _progress())
            if report.already_imported:
                click.echo(f"{path}: already imported, nothing changed")
                continue
            click.echo(
                f"{path}: imported {len(report.items)} item(s), quarantined {len(report.quarantined)}, "
                f"{report.skipped} already known"
            )
            for item_id in report.quarantined:
                click.echo(f"  item {item_id}: undecryptable, quarantined", err=True)
