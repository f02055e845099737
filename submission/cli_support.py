"""The one place tamga-intake's errors become a line on stderr and exit code 1; never a traceback."""

import functools
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from crypto import CryptoError
from submission.errors import IntakeError


def clean_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the intake's refusals, crypto's and the system's into one line with exit code 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (IntakeError, CryptoError, OSError) as error:
            raise click.ClickException(str(error)) from None
        except SQLAlchemyError as error:
            # Its message may quote rows; the class name is enough to start looking.
            raise click.ClickException(f"database error ({type(error).__name__})") from None

    return wrapper
