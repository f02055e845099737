"""tamga-review custody: verify, head and show the chain-of-custody log."""

import json

import click

from review import custody, custody_replay, items
from review.cli_support import Context, clean_errors, pass_context
from review.safe_text import one_line
from review.vault import Vault


@click.group("custody")
def custody_group() -> None:
    """The chain-of-custody log.

    Example: tamga-review --station /media/station custody verify
    """


@custody_group.command("verify")
@click.option(
    "--head", "expected_head", metavar="HASH", help="A head kept elsewhere that the log must contain."
)
@click.option("--deep", is_flag=True, help="Also re-hash every envelope in the vault.")
@pass_context
@clean_errors
def custody_verify(ctx: Context, expected_head: str | None, deep: bool) -> None:
    """Check every event's signature and chain, then the catalogue against the events; no passphrase.

    Example: tamga-review --station /media/station custody verify --deep --head 3f9a...
    """
    vault = Vault(ctx.station.vault_dir) if deep else None
    with ctx.station.sessions()() as db:
        count, head = custody.verify(db, ctx.station.verify_key, expected_head)
        checked = custody_replay.check(db, ctx.station.verify_key, vault)
    click.echo(f"custody log verified: {count} events, head {head}")  # and the catalogue against it
    if deep:
        click.echo(f"vault verified: the envelopes of {checked} items re-hashed, each as recorded")


@custody_group.command("head")
@pass_context
@clean_errors
def custody_head(ctx: Context) -> None:
    """Print the hash of the latest event (keep it somewhere else to catch truncation).

    Example: tamga-review --station /media/station custody head
    """
    with ctx.station.sessions()() as db:
        click.echo(custody.head(db))


@custody_group.command("show")
@click.argument("item_id", metavar="ID", type=int)
@pass_context
@clean_errors
def custody_show(ctx: Context, item_id: int) -> None:
    """Print one item's custody history.

    Example: tamga-review --station /media/station custody show 3
    """
    with ctx.station.sessions()() as db:
        events = items.history(db, item_id)
    for event in events:
        body = event.body
        click.echo(
            f"{event.seq:>6}  {body['time']}  {body['action']:<12}  {one_line(body['actor'])}  "
            f"{json.dumps(body['hashes'], sort_keys=True)}"
        )
