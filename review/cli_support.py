"""What every tamga-review command shares: the context (station, passphrase, actor) and clean errors."""

import functools
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from crypto import CryptoError
from review.errors import ReviewError
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
