"""`tamga-review serve`: the station in the browser (review/web/), on 127.0.0.1 only."""

import contextlib

import click

from review.cli_support import Context, clean_errors, pass_context
from review.web import IDLE_MINUTES, Settings, create_app
from review.web.server import make_server, serve


@click.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: a free port.")
@click.option(
    "--idle-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=IDLE_MINUTES,
    show_default=True,
    help="Lock (drop the keys from memory) after this long without a request.",
)
@pass_context
@clean_errors
def serve_command(ctx: Context, port: int, idle_minutes: float) -> None:
    """Serve the station's web interface on 127.0.0.1; print the one address to open (one-time token).

    The passphrase is asked in the browser, not here. Stop with Ctrl-C (the keys go with the process).

    Example: tamga-review --station /media/station serve --port 8800
    """
    station = ctx.station
    server = make_server(port, lambda bound: create_app(station, Settings(bound, idle_minutes)))
    with contextlib.suppress(KeyboardInterrupt):
        serve(server, click.echo)
