"""tamga-review package and verify-package: evidence a court's expert verifies without Tamga."""

from pathlib import Path

import click

from crypto import sshsig
from crypto.signing import fingerprint
from review import package, package_format, package_verify
from review.cli_support import Context, clean_errors, pass_context


@click.command("package")
@click.argument("item_ids", metavar="ID...", nargs=-1, required=True, type=int)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The new archive."
)
@click.option("--with-messages", is_flag=True, help="Include the text of the source's message of each item.")
@click.option(
    "--include-identifying",
    is_flag=True,
    help="Include file names, GPS, device details, source ids (the manifest says so).",
)
@click.option(
    "--with-derivatives", is_flag=True, help="Also include the working copies made from these items (derive)."
)
@pass_context
@clean_errors
def package_command(
    ctx: Context,
    item_ids: tuple[int, ...],
    out: Path,
    with_messages: bool,
    include_identifying: bool,
    with_derivatives: bool,
) -> None:
    """Write an evidence package (tar): originals, manifest, SHA256SUMS signed in SSHSIG (a custody event).

    Example: tamga-review --station /media/station package 3 7 12 --out ~/case/package.tar
    """
    keys = ctx.unlock()
    with ctx.station.sessions()() as db:
        written = package.write_package(
            ctx.station,
            db,
            keys,
            list(item_ids),
            out,
            ctx.actor,
            with_messages,
            include_identifying,
            with_derivatives,
        )
    click.echo(f"Wrote {out}: {len(written.items)} item(s), sha256 {written.sha256}")
    if include_identifying:
        click.echo("Warning: this package includes data that could identify sources", err=True)


@click.command("verify-package")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--key",
    metavar="KEY",
    help="The station's key, from out of band: tamgapub1..., ssh-ed25519 AAAA... or allowed_signers line.",
)
@clean_errors
def verify_package_command(file: Path, key: str | None) -> None:
    """Check a package with only the station's public key: signature, every file, the custody records.

    Example: tamga-review verify-package package.tar --key tamgapub1...
    """
    checked = package_verify.verify_package(file, package_verify.parse_key(key) if key else None)
    chain = checked.chain
    click.echo(f"Package verified: {file}")
    click.echo(
        f"  signed by {package_format.PRINCIPAL}, ssh-ed25519 key {sshsig.fingerprint(checked.key)} "
        f"(Tamga fingerprint {fingerprint(checked.key)})"
    )
    if checked.key_from_package:
        click.echo(
            f"  key taken from the package's own {package_format.ALLOWED_SIGNERS}: "
            "compare it with one obtained out of band, or give --key"
        )
    click.echo(f"  {package_format.SIGNATURE}: good SSHSIG signature, namespace {package_format.NAMESPACE}")
    click.echo(f"  {checked.members} members: each matches {package_format.SUMS}, none missing, none added")
    for entry in checked.items:
        click.echo(f"  item {entry['id']}: {entry['file']}, {entry['size']} bytes, sha256 {entry['sha256']}")
    click.echo(
        f"  custody: {checked.records} signed record(s) of these items, each signature good; chain of "
        f"{len(chain)} event(s) from {chain[0]['seq']} to head {chain[-1]['hash']}, none of theirs omitted"
    )
    if checked.includes_identifying_data:
        click.echo("  the manifest says it includes data that could identify sources")
