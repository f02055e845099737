"""What every tamga-review command shares: the context (station, passphrase, actor) and clean errors."""

import contextlib
import functools
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import click

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

    def start_unlock(self) -> Future[Keys]:
        """Unlock the station on a thread while the caller goes on (scrypt runs in C without the
        GIL, so loading modules here meanwhile costs no extra time). The station is checked and the
        passphrase read (a prompt needs this thread's terminal) before the thread starts."""
        station = self.station
        station.verify_key  # noqa: B018 (a missing or broken station fails here, before any prompt)
        passphrase = self.passphrase()()
        keys: Future[Keys] = Future()

        def unlock() -> None:
            try:
                keys.set_result(station.unlock(lambda: passphrase))
            except BaseException as error:  # raised by keys.result() in the caller
                keys.set_exception(error)

        threading.Thread(target=unlock, name="tamga-unlock", daemon=True).start()
        return keys


pass_context = click.make_pass_decorator(Context)


@contextlib.contextmanager
def loading_modules() -> Iterator[None]:
    """Load modules with the cyclic garbage collector off, then leave them out of its scans.

    A command's modules make some 60,000 objects that live until exit (SQLAlchemy most of them) and
    almost no garbage, and each collection scanned them all again: about 0.1 s of the load, and
    as much again in the collections after it and at exit (a full collection of them takes 30 ms
    here). gc.freeze() moves them to a generation that no collection scans; the cycles made
    afterwards are collected as usual.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


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
        except Exception as error:
            if not _catalogue_error(error):
                raise
            raise click.ClickException(f"catalogue database error ({type(error).__name__})") from None

    return wrapper


def _catalogue_error(error: Exception) -> bool:
    """Whether error is SQLAlchemy's. It is imported only by commands that open the catalogue, and
    only they can raise its errors: unimported, it is not asked for."""
    database = sys.modules.get("sqlalchemy.exc")
    return database is not None and isinstance(error, database.SQLAlchemyError)
