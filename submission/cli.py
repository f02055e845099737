"""`tamga-intake`: set up, run and operate the intake server. Every command takes --data-dir."""

import ipaddress
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from crypto import parse_recipient
from crypto.signing import VerifyKey
from submission.cli_support import clean_errors
from submission.datadir import check_onion_address, create_data_dir
from submission.db import make_engine, make_session_factory
from submission.errors import OperatorError
from submission.export import export
from submission.models import TrustedStation
from submission.replies import import_replies
from submission.retention import purge, unacknowledged_older_than
from submission.settings import load_settings, load_signing_key
from submission.store import EnvelopeStore
from submission.uploads import UPLOADS_DIR, remove_expired

data_dir_option = click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The intake's data directory.",
)


@contextmanager
def _database(data_dir: Path) -> Iterator[Session]:
    engine = make_engine(load_settings(data_dir).database_url)
    try:
        with make_session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Operate the Tamga intake server (sources upload here; everything is sealed on arrival).

    Example: tamga-intake init --data-dir /var/lib/tamga --recipient age1pq1...
    """


@cli.command()
@data_dir_option
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    required=True,
    metavar="AGE1PQ1...",
    help="A review station's age1pq1... (or classic age1...) key; repeat for several, all of one kind.",
)
@click.option(
    "--onion-address",
    "onions",
    multiple=True,
    metavar="ADDR.onion",
    help="The onion address this server answers to (repeatable).",
)
@click.option(
    "--onion-hostname-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the onion address from Tor's hostname file.",
)
@click.option("--database-url", help="A PostgreSQL URL; SQLite in the data directory by default.")
@click.option(
    "--station-key",
    "station_keys",
    multiple=True,
    metavar="TAMGAPUB1...",
    help="Pin a review station's signing key (from `tamga-review pubkey --signing`).",
)
@click.option("--demo", is_flag=True, hidden=True, help="Mark this as a demonstration instance.")
@clean_errors
def init(
    data_dir: Path,
    recipients: tuple[str, ...],
    onions: tuple[str, ...],
    onion_hostname_file: Path | None,
    database_url: str | None,
    station_keys: tuple[str, ...],
    demo: bool,
) -> None:
    """Create a new data directory (mode 0700) with keys and database.

    Example: tamga-intake init --data-dir /var/lib/tamga --recipient age1pq1... --onion-address x.onion
    """
    parsed = [parse_recipient(text) for text in recipients]
    addresses = list(onions)
    if onion_hostname_file is not None:
        addresses.append(check_onion_address(onion_hostname_file.read_text()))
    stations = list(dict.fromkeys(VerifyKey.parse(text) for text in station_keys))
    key = create_data_dir(data_dir, parsed, addresses, database_url, demo=demo)
    with _database(data_dir) as db:
        for station in stations:
            db.add(TrustedStation(verify_key=str(station)))
        db.commit()
    click.echo(f"Created {data_dir}")
    click.echo(f"Server signing key fingerprint: {key.verify_key.fingerprint}")
    click.echo(f"Server signing key: {key.verify_key}")


@cli.command("server-key")
@data_dir_option
@clean_errors
def server_key(data_dir: Path) -> None:
    """Print the server's public signing key (the last token), for `tamga-review trust-server`.

    Example: tamga-intake server-key --data-dir /var/lib/tamga
    """
    key = load_signing_key(load_settings(data_dir).data_dir)
    click.echo(f"Fingerprint: {key.verify_key.fingerprint}")
    click.echo(f"Server signing key: {key.verify_key}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@cli.command()
@data_dir_option
@click.option("--bind", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT")
@click.option(
    "--allow-non-loopback",
    is_flag=True,
    help="Listen beyond loopback (normally Tor connects to a loopback port).",
)
@clean_errors
def serve(data_dir: Path, bind: str, allow_non_loopback: bool) -> None:
    """Run the intake under gunicorn with the settings of deploy/gunicorn.conf.py.

    Example: tamga-intake serve --data-dir /var/lib/tamga --bind 127.0.0.1:8080
    """
    host = bind.rsplit(":", 1)[0]
    if not _is_loopback(host) and not allow_non_loopback:
        raise OperatorError(f"{host} is not a loopback address: add --allow-non-loopback to mean it")
    settings = load_settings(data_dir)
    settings.validate()
    make_engine(settings.database_url).dispose()
    os.environ["TAMGA_DATA_DIR"] = str(settings.data_dir)
    root = str(Path(__file__).resolve().parent.parent)
    os.execvp(  # noqa: S606 (replaces this process with gunicorn; fixed argv)
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            root,
            "-c",
            "python:submission.gunicorn_settings",
            "--bind",
            bind,
        ],
    )


@cli.command("export")
@data_dir_option
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle to write (more are written beside it when split).",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=4096),
    metavar="BYTES",
    help="Split into bundles no larger than this (FAT32 sticks stop at 4 GiB).",
)
@click.option("--all", "everything", is_flag=True, help="Export every envelope again, not just new ones.")
@clean_errors
def export_command(data_dir: Path, out: Path, max_size: int | None, everything: bool) -> None:
    """Write envelopes not yet exported to signed bundles for the review station.

    Prints each bundle written. Nothing is deleted; envelopes are marked exported only once
    their bundle is safely on disk. With nothing new, a valid empty bundle is still written.

    Example: tamga-intake export --data-dir /var/lib/tamga --out /media/usb/tamga.tar --max-size 4000000000
    """
    settings = load_settings(data_dir)
    with _database(data_dir) as db:
        written = export(db, settings, load_signing_key(settings.data_dir), out, max_size, everything)
    for path, count in written:
        click.echo(f"{path}: {count} envelope(s)")


@cli.command("trust-station")
@data_dir_option
@click.argument("key")
@clean_errors
def trust_station(data_dir: Path, key: str) -> None:
    """Pin a review station's signing key; its outboxes (replies, acknowledgements) are accepted.

    Example: tamga-intake trust-station --data-dir /var/lib/tamga tamgapub1...
    """
    station = VerifyKey.parse(key)
    with _database(data_dir) as db:
        if db.get(TrustedStation, str(station)) is None:
            db.add(TrustedStation(verify_key=str(station)))
            db.commit()
    click.echo(f"Trusted station key {station} (fingerprint {station.fingerprint})")


@cli.command("import-replies")
@data_dir_option
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@clean_errors
def import_replies_command(data_dir: Path, bundle: Path) -> None:
    """Import a station's outbox: store sealed replies, delete acknowledged envelopes.

    Example: tamga-intake import-replies --data-dir /var/lib/tamga /media/usb/outbox.tar
    """
    settings = load_settings(data_dir)
    store = EnvelopeStore(settings.store_dir, 0)
    with _database(data_dir) as db:
        report = import_replies(db, store, load_signing_key(settings.data_dir), bundle)
    if report.already_imported:
        click.echo(f"{bundle}: already imported, nothing changed")
        return
    click.echo(
        f"{bundle}: {report.replies} reply(ies) stored, {report.acknowledged} envelope(s) acknowledged "
        f"and deleted"
    )


@cli.command("purge")
@data_dir_option
@click.option("--older-than", "days", required=True, type=click.IntRange(min=0), metavar="DAYS")
@click.option(
    "--include-unacknowledged",
    is_flag=True,
    help="Also delete envelopes the reviewers have NOT confirmed (evidence may be lost).",
)
@clean_errors
def purge_command(data_dir: Path, days: int, include_unacknowledged: bool) -> None:
    """Remove acknowledged submissions, old or deleted replies, and sources with nothing left.

    Unacknowledged envelopes are kept unless --include-unacknowledged is given.

    Example: tamga-intake purge --data-dir /var/lib/tamga --older-than 30
    """
    settings = load_settings(data_dir)
    with _database(data_dir) as db:
        waiting = unacknowledged_older_than(db, days)
        if include_unacknowledged and waiting:
            click.echo(
                f"warning: deleting {waiting} envelope(s) the reviewers have not acknowledged", err=True
            )
        store = EnvelopeStore(settings.store_dir, 0)
        purged = purge(db, store, days, include_unacknowledged)
        expired = remove_expired(db, store, settings.data_dir / UPLOADS_DIR)
    click.echo(
        f"removed {purged.submissions} acknowledged submission(s), {purged.replies} reply(ies), "
        f"{purged.sources} source(s)"
    )
    if include_unacknowledged:
        click.echo(
            f"removed {purged.unacknowledged_submissions} unacknowledged submission(s) "
            f"({purged.unacknowledged_envelopes} envelope(s))"
        )
    elif waiting:
        click.echo(
            f"kept {waiting} unacknowledged envelope(s) older than {days} days "
            "(export them, or use --include-unacknowledged)"
        )
    if expired:
        click.echo(f"removed {expired} expired incomplete upload(s)")


def main() -> None:
    cli()
