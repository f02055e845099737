"""The intake's one log format: exception types and code locations, dated to the day, nothing else.

A log message, its arguments and an exception's text can all carry what a request held: SQLAlchemy
puts the SQL parameters (a session's CSRF secret, a source id, a reply recipient) in its messages,
Flask names the path, gunicorn quotes the request line and the peer address. So this formatter
never renders them: a line says the day, the level, the logger, where the call was made, and for
an exception its type and the file:line:function of each frame, with the types it was chained to.
Installed on the root logger (which Flask's and the libraries' loggers propagate to) and, through
`GunicornLogger`, on gunicorn's own error and access logs.
"""

import functools
import logging
import os
import re
import sys
import time
import traceback
from types import TracebackType

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

MAX_FRAMES = 24  # outermost and innermost frames kept of a deep stack (a RecursionError's has 1000)
MAX_CHAIN = 5  # exceptions followed along __cause__ / __context__


@functools.lru_cache(maxsize=4096)
def short_path(path: str) -> str:
    """A source file relative to the sys.path entry it was imported from (no home or venv path)."""
    if path.startswith("<"):  # generated code: "<sqlalchemy generated _go() wrapper for ...>"
        return "<" + re.sub(r"[^\w.]+", "_", path.strip("<>")).strip("_") + ">"
    best = ""
    for entry in sys.path:
        root = os.path.abspath(entry or os.curdir) + os.sep
        if path.startswith(root) and len(root) > len(best):
            best = root
    return path[len(best) :] if best else os.path.basename(path)


def location(path: str, line: int | None, function: str) -> str:
    return f"{short_path(path)}:{line or 0}:{function}"


def type_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def frames(tb: TracebackType | None) -> str:
    found = [location(f.filename, f.lineno, f.name) for f in traceback.extract_tb(tb)]
    if len(found) > MAX_FRAMES:  # where it came in and where it broke
        found = [*found[: MAX_FRAMES // 3], "...", *found[-(MAX_FRAMES - MAX_FRAMES // 3) :]]
    return " > ".join(found)


def chain(error: BaseException) -> list[tuple[str, BaseException]]:
    """The exception and what it was raised from or during, as Python would print them."""
    found: list[tuple[str, BaseException]] = [("raised", error)]
    seen = {id(error)}
    while len(found) < MAX_CHAIN:
        current = found[-1][1]
        if current.__cause__ is not None:
            link, current = "cause", current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link, current = "context", current.__context__
        else:
            break
        if id(current) in seen:
            break
        seen.add(id(current))
        found.append((link, current))
    return found


class ScrubbingFormatter(logging.Formatter):
    """Renders a record without its message, its arguments or any exception's text.

    A record logged while an exception is being handled (gunicorn's "Invalid request" warning,
    an error page's log call) is shown with that exception's type and frames.
    """

    def format(self, record: logging.LogRecord) -> str:
        day = time.strftime("%Y-%m-%d", time.gmtime(record.created))
        head = f"{day} {record.levelname} {record.name}"
        lines = [f"{head} {location(record.pathname, record.lineno, record.funcName)}"]
        error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if error is not None:
            for link, exc in chain(error):
                lines.append(f"{head} {link} {type_name(exc)}: {frames(exc.__traceback__)}")
        return "\n".join(lines)


class ScrubbingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stderr handler with the scrubbing format (stderr looked up on each record, as tests swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(ScrubbingFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def install(logger: logging.Logger | None = None) -> None:
    """Make the root logger write scrubbed lines (once), and strip `logger` of its own handlers.

    Flask gives an app's logger a default handler that prints the message, the path and a
    precise time, unless a handler is already there: after this, its records propagate to ours.
    """
    root = logging.getLogger()
    if not any(isinstance(handler, ScrubbingHandler) for handler in root.handlers):
        root.addHandler(ScrubbingHandler())
    if logger is not None:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


class GunicornLogger(Logger):
    """gunicorn's logger with the scrubbing format on every handler it sets up (`logger_class`)."""

    # gunicorn logs through these wrappers: name their caller as the record's location.
    def critical(self, msg: object, *args: object, **kwargs: object) -> None:
        self.error_log.critical(msg, *args, stacklevel=2, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: object) -> None:
        self.error_log.error(msg, *args, stacklevel=2, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: object) -> None:
        self.error_log.warning(msg, *args, stacklevel=2, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: object) -> None:
        self.error_log.info(msg, *args, stacklevel=2, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: object) -> None:
        self.error_log.debug(msg, *args, stacklevel=2, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: object) -> None:
        self.error_log.exception(msg, *args, stacklevel=2, **kwargs)

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        install()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(ScrubbingFormatter())
