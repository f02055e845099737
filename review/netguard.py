"""No network on the station, by construction: an audit hook refuses every socket this process makes.

The one exception is `tamga-review serve`: inside `loopback_listener()` the thread that asks may
resolve, create and bind a socket on 127.0.0.1 only, and inside `accepting()` it may accept a
connection on that socket. Connecting anywhere is refused always, in every thread.
"""

import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

LOOPBACK = "127.0.0.1"
_installed = False
_allowed = threading.local()


def _permitted(event: str, args: tuple[object, ...]) -> bool:
    allowance = getattr(_allowed, "what", None)
    if allowance == "accept":
        return event == "socket.__new__"
    if allowance != "listen":
        return False
    if event == "socket.__new__":
        return True
    if event == "socket.getaddrinfo":
        return args[0] == LOOPBACK
    if event == "socket.bind":
        address = args[1]
        return isinstance(address, tuple) and address[0] == LOOPBACK
    return False


def _refuse_sockets(event: str, args: tuple[object, ...]) -> None:
    guarded = event in ("socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo")
    if guarded and not _permitted(event, args):
        raise PermissionError("the review station opens no network connection")


def forbid_network() -> None:
    """Install the hook once; audit hooks cannot be removed for the life of the process."""
    global _installed
    if not _installed:
        sys.addaudithook(_refuse_sockets)
        _installed = True


@contextmanager
def _allow(what: str) -> Iterator[None]:
    previous = getattr(_allowed, "what", None)
    _allowed.what = what
    try:
        yield
    finally:
        _allowed.what = previous


def loopback_listener() -> AbstractContextManager[None]:
    """In this thread, for the block: make and bind a listening socket on 127.0.0.1, nothing else."""
    return _allow("listen")


def accepting() -> AbstractContextManager[None]:
    """In this thread, for the block: accept a connection on an already listening socket."""
    return _allow("accept")
