"""`tamga-review`: the offline station's command line, a thin layer over review/.

Every library error becomes one line on stderr and exit code 1; usage errors exit 2.
The passphrase is asked only by commands that need a private key.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path

import click

from crypto.signing import VerifyKey
from review import (
    cli_catalogue,
    cli_custody,
    cli_derive,
    cli_outbox,
    cli_package,
    cli_serve,
    importer,
    items,
    provision,
    public_keys,
)
from review.cli_support import Context, clean_errors, pass_context
from review.netguard import forbid_network
from review.safe_text import one_line


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--station",
    envvar="TAMGA_STATION",
    type=click.Path(file_okay=False, path_type=Path),
    help="The station directory (or TAMGA_STATION).",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read the passphrase from this file (else TAMGA_PASSPHRASE, else a prompt).",
)
@click.option(
    "--actor",
    envvar="TAMGA_ACTOR",
    default=lambda: os.environ.get("USER", "reviewer"),
    help="Your name for the custody log (self-declared, not authenticated).",
)
@click.pass_context
def cli(ctx: click.Context, station: Path | None, passphrase_file: Path | None, actor: str) -> None:
    """Open, verify and catalogue sealed evidence on the offline review station.

    Example: tamga-review --station /media/station import /media/usb/tamga.tar
    """
    ctx.obj = Context(station, passphrase_file, actor)


@cli.command()
@click.option("--server-key", metavar="TAMGAPUB1...", help="Pin the intake server's signing key now.")
@click.option(
    "--classic",
    is_flag=True,
    help="An X25519-only (age1...) station key, for age < 1.3; the default is post-quantum (age1pq1...).",
)
@pass_context
@clean_errors
def init(ctx: Context, server_key: str | None, classic: bool) -> None:
    """Create the station: keys (passphrase-protected), vault and catalogue. Never overwrites.

    The station's key is hybrid post-quantum (ML-KEM-768 + X25519) unless --classic is given.

    Example: tamga-review --station /media/station init --server-key tamgapub1...
    """
    pinned = VerifyKey.parse(server_key) if server_key else None
    passphrase = ctx.passphrase(confirm=True)()
    keys = provision.create_station(ctx.station, passphrase, ctx.actor, pinned, post_quantum=not classic)
    click.echo(f"Created station {ctx.station.root}")
    click.echo(f"Recipient (install on the intake server): {keys.recipient}")
    click.echo(f"Signing key fingerprint: {keys.verify_key.fingerprint}")


@cli.command()
@click.option("--signing", is_flag=True, help="Print the station's public signing key instead.")
@click.option("--ssh", is_flag=True, help="With --signing: print it as an allowed_signers line only.")
@pass_context
@clean_errors
def pubkey(ctx: Context, signing: bool, ssh: bool) -> None:
    """Print the station's age1pq1... (or classic age1...) recipient, or signing key, and its fingerprint.

    Example: tamga-review --station /media/station pubkey
    """
    if ssh and not signing:
        raise click.UsageError("--ssh needs --signing")
    if ssh:
        lines = [public_keys.allowed_signers_line(ctx.station)]
    else:
        lines = (public_keys.signing_lines if signing else public_keys.recipient_lines)(ctx.station)
    for line in lines:
        click.echo(line)


@cli.command("trust-server")
@click.argument("key")
@pass_context
@clean_errors
def trust_server(ctx: Context, key: str) -> None:
    """Pin an intake server's signing key (from `tamga-intake server-key`); compare fingerprints by phone.

    Example: tamga-review --station /media/station trust-server tamgapub1...
    """
    verify_key = VerifyKey.parse(key)
    with ctx.station.sessions()() as db:
        provision.pin_server(db, verify_key)
    click.echo(public_keys.trusted_line(verify_key))


def _progress() -> Callable[[int, int], None]:
    """Report a large import every 5%."""
    shown = [-1]

    def report(done: int, total: int) -> None:
        step = done * 20 // max(total, 1)
        if total >= 64 * 1024 * 1024 and step > shown[0]:
            shown[0] = step
            click.echo(f"  {step * 5:3d}%  {done // 2**20} MiB of {total // 2**20} MiB", err=True)

    return report


@cli.command("import")
@click.argument(
    "bundles", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@pass_context
@clean_errors
def import_command(ctx: Context, bundles: tuple[Path, ...]) -> None:
    """Verify and import transfer bundles, in the order given. A faulty bundle imports nothing.

    Example: tamga-review --station /media/station import /media/usb/tamga.tar
    """
    keys = ctx.unlock()
    with ctx.station.sessions()() as db:
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


@cli.command("list")
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


@cli.command()
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


@cli.command()
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


for command in (
    cli_catalogue.taxonomy_command,
    cli_catalogue.tag,
    cli_catalogue.status,
    cli_catalogue.note,
    cli_catalogue.report_command,
    cli_outbox.reply,
    cli_outbox.export_outbox,
    cli_custody.custody_group,
    cli_package.package_command,
    cli_package.verify_package_command,
    cli_derive.derive_command,
    cli_serve.serve_command,
):
    cli.add_command(command)


def main() -> None:
    forbid_network()
    cli()
