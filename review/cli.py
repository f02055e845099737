"""`tamga-review`: the offline station's command line, a thin layer over review/.

Every library error becomes one line on stderr and exit code 1; usage errors exit 2.
The passphrase is asked only by commands that need a private key.
"""

import functools
import getpass
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from crypto import CryptoError
from crypto.files import atomic_new_file
from crypto.signing import VerifyKey, fingerprint
from review import catalogue, custody, importer, items, outbox, report, taxonomy
from review.errors import ReviewError
from review.models import STATUSES, TrustedServer
from review.netguard import forbid_network
from review.station import Keys, Station


class Context:
    def __init__(self, station: Path | None, passphrase_file: Path | None, actor: str) -> None:
        self._station = station
        self.passphrase_file = passphrase_file
        self.actor = actor

    @property
    def station(self) -> Station:
        if self._station is None:
            raise ReviewError("no station: give --station DIR or set TAMGA_STATION")
        return Station(self._station)

    def passphrase(self, confirm: bool = False) -> Callable[[], str]:
        def read() -> str:
            if self.passphrase_file is not None:
                return self.passphrase_file.read_text(encoding="utf-8").splitlines()[0]
            if "TAMGA_PASSPHRASE" in os.environ:
                return os.environ["TAMGA_PASSPHRASE"]
            if not sys.stdin.isatty():
                raise ReviewError("no passphrase: use the prompt, TAMGA_PASSPHRASE or --passphrase-file")
            first = getpass.getpass("Station passphrase: ")
            if confirm and getpass.getpass("Passphrase again: ") != first:
                raise ReviewError("the two passphrases differ")
            return first

        return read

    def unlock(self) -> Keys:
        return self.station.unlock(self.passphrase())


pass_context = click.make_pass_decorator(Context)


def clean_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one-line messages with exit code 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (ReviewError, CryptoError) as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            where = f": {error.filename}" if error.filename else ""
            raise click.ClickException(f"{error.strerror or error}{where}") from None
        except SQLAlchemyError as error:
            raise click.ClickException(f"catalogue database error ({type(error).__name__})") from None

    return wrapper


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
@pass_context
@clean_errors
def init(ctx: Context, server_key: str | None) -> None:
    """Create the station: keys (passphrase-protected), vault and catalogue. Never overwrites.

    Example: tamga-review --station /media/station init --server-key tamgapub1...
    """
    pinned = VerifyKey.parse(server_key) if server_key else None
    keys = ctx.station.create(ctx.passphrase(confirm=True)())
    sessions = ctx.station.sessions()
    with sessions() as db:
        custody.record(
            db,
            keys.signing,
            "station-created",
            "station",
            ctx.actor,
            details={"recipient": str(keys.identity.recipient), "verify_key": str(keys.signing.verify_key)},
        )
        if pinned:
            db.add(TrustedServer(verify_key=str(pinned)))
        db.commit()
    click.echo(f"Created station {ctx.station.root}")
    click.echo(f"Recipient (install on the intake server): {keys.identity.recipient}")
    click.echo(f"Signing key fingerprint: {keys.signing.verify_key.fingerprint}")


@cli.command()
@click.option("--signing", is_flag=True, help="Print the station's public signing key instead.")
@pass_context
@clean_errors
def pubkey(ctx: Context, signing: bool) -> None:
    """Print the station's age1... recipient (or signing key) and its fingerprint.

    Example: tamga-review --station /media/station pubkey
    """
    if signing:
        key = ctx.station.verify_key
        click.echo(f"Fingerprint: {key.fingerprint}")
        click.echo(f"Station signing key: {key}")
    else:
        click.echo(f"Fingerprint: {fingerprint(ctx.station.recipient.public_key)}")
        click.echo(str(ctx.station.recipient))


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
        if db.get(TrustedServer, str(verify_key)) is None:
            db.add(TrustedServer(verify_key=str(verify_key)))
            db.commit()
    click.echo(f"Trusted server key {verify_key} (fingerprint {verify_key.fingerprint})")


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
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--incident", metavar="CODE", help="Only items tagged with this incident code.")
@click.option("--region", help="Only items in this region.")
@click.option("--polling-station", metavar="NUMBER", help="Only items from this polling station.")
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
        found = catalogue.filtered(db, status, incident, region, polling_station)
        rows = [items.as_dict(item, db) for item in found]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        name = items.neutralise(row["name"] or "") or "-"
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
        item = items.get_item(db, item_id)
        facts = items.as_dict(item, db)
        facts["notes"] = [
            f"{n.created_at:%Y-%m-%d} {n.actor}: {n.text}" for n in catalogue.notes_of(db, item.id)
        ]
        facts["near_duplicates"] = [
            f"item {other} (distance {d})" for other, d in catalogue.near_duplicates(db, item)
        ]
        if item.kind == "message" and item.status != "undecryptable":
            facts["text"] = items.read_message(ctx.station, db, ctx.unlock(), item, ctx.actor)
    if as_json:
        click.echo(json.dumps(facts, ensure_ascii=False, indent=2))
        return
    for key, value in facts.items():
        if key != "text":
            click.echo(f"{key}: {items.neutralise(str(value)) if value is not None else '-'}")
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
        item = items.get_item(db, item_id)
        size = items.extract(ctx.station, db, ctx.unlock(), item, out, ctx.actor)
    click.echo(f"Wrote {size} bytes to {out}")


@cli.command("taxonomy")
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


@cli.command()
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
        item = items.get_item(db, item_id)
        for code in incidents:
            taxonomy.validate(code)
        if when is not None:
            catalogue.parse_when(when)
        catalogue.tag(
            db,
            ctx.unlock().signing,
            item,
            ctx.actor,
            list(incidents),
            list(tags),
            polling_station,
            region,
            settlement,
            when,
        )
    click.echo(f"Tagged item {item_id}")


@cli.command()
@click.argument("item_id", metavar="ID", type=int)
@click.argument("status", type=click.Choice(catalogue.REVIEW_STATUSES))
@pass_context
@clean_errors
def status(ctx: Context, item_id: int, status: str) -> None:
    """Set an item's review status (a custody event).

    Example: tamga-review --station /media/station status 3 verified
    """
    with ctx.station.sessions()() as db:
        item = items.get_item(db, item_id)
        catalogue.set_status(db, ctx.unlock().signing, item, status, ctx.actor)
    click.echo(f"Item {item_id} is now {status}")


@cli.command()
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
        item = items.get_item(db, item_id)
        catalogue.add_note(db, ctx.unlock().signing, item, body, ctx.actor)
    click.echo(f"Noted item {item_id}")


@cli.command("report")
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option(
    "--include-identifying",
    is_flag=True,
    help="Include file names, GPS, device serials, owner names and message text (says so at the top).",
)
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--incident", metavar="CODE")
@click.option("--region")
@click.option("--polling-station", metavar="NUMBER")
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
    if out is not None and os.path.lexists(out):
        raise ReviewError(f"{out} already exists: refusing to overwrite it")
    keys = ctx.unlock()
    with ctx.station.sessions()() as db:
        found = catalogue.filtered(db, status, incident, region, polling_station)
        texts = {}
        if include_identifying:
            for item in found:
                if item.kind == "message" and item.status != "undecryptable":
                    texts[item.id] = items.read_message(ctx.station, db, keys, item, ctx.actor)
        document = report.render(report.build(db, found, include_identifying, texts), fmt)
        digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
        custody.record(
            db,
            keys.signing,
            "reported",
            "report",
            ctx.actor,
            {"report_sha256": digest},
            {"format": fmt, "items": len(found), "includes_identifying_data": include_identifying},
        )
        if out is None:
            db.commit()
            click.echo(document, nl=False)
            return
        with atomic_new_file(out) as target:
            target.write(document.encode("utf-8"))
        db.commit()
    click.echo(f"Wrote {out} (sha256 {digest})", err=True)


@cli.command()
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


@cli.command("export-outbox")
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


@cli.group("custody")
def custody_group() -> None:
    """The chain-of-custody log.

    Example: tamga-review --station /media/station custody verify
    """


@custody_group.command("verify")
@click.option(
    "--head", "expected_head", metavar="HASH", help="A head kept elsewhere that the log must contain."
)
@pass_context
@clean_errors
def custody_verify(ctx: Context, expected_head: str | None) -> None:
    """Check every event's signature and chain; needs no passphrase.

    Example: tamga-review --station /media/station custody verify --head 3f9a...
    """
    with ctx.station.sessions()() as db:
        count, head = custody.verify(db, ctx.station.verify_key, expected_head)
    click.echo(f"custody log verified: {count} events, head {head}")


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
        items.get_item(db, item_id)
        for event in custody.history(db, f"item:{item_id}"):
            body = event.body
            click.echo(
                f"{event.seq:>6}  {body['time']}  {body['action']:<12}  {items.neutralise(body['actor'])}  "
                f"{json.dumps(body['hashes'], sort_keys=True)}"
            )


def main() -> None:
    forbid_network()
    cli()
