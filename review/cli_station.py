"""tamga-review commands that make the station and show or pin its keys: init, pubkey, trust-server."""

import click

from crypto.signing import VerifyKey
from review import provision, public_keys
from review.cli_support import Context, clean_errors, pass_context


@click.command()
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


@click.command()
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


@click.command("trust-server")
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
