"""`tamga-review`: the offline station's command line, a thin layer over review/.

Every library error becomes one line on stderr and exit code 1; usage errors exit 2.
The passphrase is asked only by commands that need a private key.

Each command's module is loaded only when that command runs (or help lists it), so a command
pays for no other's imports; `import` relies on it to unlock the station while SQLAlchemy loads
(review/cli_import.py).
"""

import importlib
import os
from pathlib import Path

import click

from review.cli_support import Context, loading_modules
from review.netguard import forbid_network

COMMANDS = {  # name -> module:attribute
    "init": "review.cli_station:init",
    "pubkey": "review.cli_station:pubkey",
    "trust-server": "review.cli_station:trust_server",
    "import": "review.cli_import:import_command",
    "list": "review.cli_items:list_command",
    "show": "review.cli_items:show",
    "extract": "review.cli_items:extract",
    "taxonomy": "review.cli_catalogue:taxonomy_command",
    "tag": "review.cli_catalogue:tag",
    "status": "review.cli_catalogue:status",
    "note": "review.cli_catalogue:note",
    "report": "review.cli_catalogue:report_command",
    "reply": "review.cli_outbox:reply",
    "export-outbox": "review.cli_outbox:export_outbox",
    "custody": "review.cli_custody:custody_group",
    "package": "review.cli_package:package_command",
    "verify-package": "review.cli_package:verify_package_command",
    "derive": "review.cli_derive:derive_command",
    "serve": "review.cli_serve:serve_command",
}


class LazyGroup(click.Group):
    """A group whose commands are named in COMMANDS and imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name].split(":")
            with loading_modules():
                command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command) and command.name == cmd_name, cmd_name
            self.add_command(command)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def main() -> None:
    forbid_network()
    cli()
