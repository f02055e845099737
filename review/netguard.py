"""No network on the station, by construction: an audit hook refuses every socket this process makes."""

import sys

_installed = False


def _refuse_sockets(event: str, args: tuple[object, ...]) -> None:
    if event in ("socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo"):
        raise PermissionError("the review station opens no network connection")


def forbid_network() -> None:
    """Install the hook once; audit hooks cannot be removed for the life of the process."""
    global _installed
    if not _installed:
        sys.addaudithook(_refuse_sockets)
        _installed = True
