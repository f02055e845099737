"""What every tamga-review command shares: the context (station, passphrase, actor) and clean errors."""

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from crypto import CryptoError
from crypto.keyfile import read_passphrase
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
        return functools.partial(
            read_passphrase,
            self.passphrase_file,
            confirm=confirm,
            prompt="Station passphrase: ",
            can_prompt=lambda: sys.stdin.isatty(),
        )

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
