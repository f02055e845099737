"""A tus PATCH body read straight from the client's socket into one reused buffer.

Read through gunicorn's body reader, every byte of a piece was copied six times in Python
(its buffers join and split each read) into new 1 MiB objects whose fresh pages the kernel
must fault in and zero: most of the tus path's worker CPU per GB. Here the bytes go from the
socket into a buffer the upload keeps, and from there to the file: the kernel's two copies only.

This knows gunicorn's body objects (a Body over a LengthReader over a SocketUnreader) as
submission/worker.py knows its parser; where the body is anything else (Flask's test client,
a chunked body, a body already partly read) `open_body` returns the WSGI stream's own reader.
"""

import socket
from collections.abc import Callable
from typing import Any, Protocol

READ_SIZE = 1024 * 1024  # one buffer per piece being written


class PieceBody(Protocol):
    def readinto(self, buffer: memoryview) -> int:
        """Fill the start of `buffer` with the next bytes (0 at the end of the body)."""


class _SocketBody:
    """What gunicorn had read ahead, then the socket; gunicorn is told what was taken."""

    def __init__(self, body: Any, sock: socket.socket, length: int) -> None:
        self._body = body
        self._reader = body.reader
        self._sock = sock
        self._left = length
        ahead = self._reader.unreader.take_buffered()
        if len(ahead) > length:  # a pipelined next request: gunicorn's to parse
            self._reader.unreader.unread(ahead[length:])
            ahead = ahead[:length]
        self._ahead = memoryview(ahead)

    def readinto(self, buffer: memoryview) -> int:
        want = min(len(buffer), self._left)
        if want == 0:
            return 0
        try:
            if self._ahead:
                count = min(want, len(self._ahead))
                buffer[:count] = self._ahead[:count]
                self._ahead = self._ahead[count:]
            else:
                count = self._sock.recv_into(buffer, want)
        except BaseException:
            self._body.failed = True  # where the next request starts is unknown: gunicorn closes
            raise
        self._left -= count
        self._reader.length -= count
        if count == 0:
            self._body.failed = True
        return count


class _StreamBody:
    """Any other WSGI input: its read(), copied into the buffer."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read

    def readinto(self, buffer: memoryview) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_body(environ: dict[str, Any], read: Callable[[int], bytes], length: int | None) -> PieceBody:
    """The request body of `length` bytes (its Content-Length); `read` is the stream's own."""
    body: Any = environ.get("wsgi.input")
    sock = environ.get("gunicorn.socket")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if (
        length is not None
        and isinstance(sock, socket.socket)
        and type(reader).__name__ == "LengthReader"
        and getattr(reader, "length", None) == length
        and getattr(unreader, "sock", None) is sock
        and hasattr(unreader, "take_buffered")
        and body.buf.tell() == 0  # nothing of the body read through gunicorn yet
    ):
        return _SocketBody(body, sock, length)  # type: ignore[arg-type]
    return _StreamBody(read)
