"""`tamga-review`: the offline station's command line (a thin layer over review/)."""

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Open, verify and catalogue sealed evidence on the offline review station.

    Example: tamga-review --help
    """


def main() -> None:
    cli()
