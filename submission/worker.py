"""A gthread worker that reads each request head in its event loop, under a deadline, before any thread.

gunicorn's gthread worker hands a connection to a pool thread as soon as it has bytes, and that
thread then blocks until the head is complete: a few hundred connections that send one header
line every few seconds ("slowloris") hold every thread, and real visitors wait. Here the main
loop reads heads itself, non-blocking: a connection gets a thread only with a complete head
(ending in CRLF CRLF), which it must deliver within `head_seconds` of being accepted (or of
becoming readable again after keep-alive), in at most `head_max_bytes`. The bytes read are given
back to gunicorn's own parser (its unreader), so parsing, limits and bodies work as before;
only the head and what came with it in the same reads are ever held, and only in memory.

A connection that is to be closed after its response lingers in the event loop, not in gunicorn's
own graceful close: see HeadReadingWorker._linger.

gunicorn's own error responses (a bad request line, 414, 431, ...) are rewritten here to carry
the app's security headers and a fixed page instead of an echo of the request, and their log
line carries no peer address (the log format drops the rest; see submission/logscrub.py).
"""

import contextlib
import errno
import resource
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine  # type: ignore[import-untyped]
from gunicorn.workers.gthread import TConn, ThreadWorker  # type: ignore[import-untyped]

from submission.pages import FALLBACK_PAGE
from submission.web import SECURITY_HEADERS

END_OF_HEAD = b"\r\n\r\n"
# A kernel refused a new socket: stop accepting until the next loop turn instead of crashing.
_ACCEPT_PAUSE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class _HeadWait:
    """A connection whose request head is still arriving."""

    __slots__ = ("buffer", "deadline", "error")

    def __init__(self, deadline: float, buffer: bytes) -> None:
        self.deadline = deadline
        self.buffer = bytearray(buffer)
        self.error: Exception | None = None


class _ResponseCatcher:
    """Stands in for the client socket so that gunicorn's error response can be read, not sent."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, _flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)


def error_response(status_line: bytes) -> bytes:
    """A complete HTTP/1.1 error response: the status, our security headers, the fixed page."""
    body = FALLBACK_PAGE.encode()
    headers = [
        "Connection: close",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items()),
    ]
    return status_line + b"\r\n" + "\r\n".join(headers).encode("latin-1") + b"\r\n\r\n" + body


class HeadReadingWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, except that no thread waits for a request head (set via gunicorn's worker_class)."""

    head_seconds = 10.0
    head_max_bytes = 16 * 1024
    linger_seconds = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_waits: dict[TConn, _HeadWait] = {}  # in order of deadline (a fixed delay)
        self.lingering: dict[TConn, float] = {}  # deadlines, in order (a fixed delay)
        self._discard = bytearray(64 * 1024)  # what lingering connections still send; main thread only

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl or "h2" in cfg.http_protocols or cfg.http2_cleartext != "off":
            raise RuntimeError("HeadReadingWorker serves plain HTTP/1.1 only (Tor terminates the rest)")

    def init_process(self) -> None:
        # Each connection waiting for its head is a file descriptor: allow what worker_connections says.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.cfg.worker_connections + self.cfg.threads + 256
        if soft != resource.RLIM_INFINITY and soft < wanted:
            new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        super().init_process()

    def accept(self, listener: Any) -> None:
        try:
            super().accept(listener)
        except OSError as error:
            if error.errno not in _ACCEPT_PAUSE_ERRORS:
                raise
            self.log.warning("cannot accept a connection now")
            self.set_accept_enabled(False)  # the main loop enables it again on its next turn

    # Every path to a thread (new, kept alive, read-ahead after a body) comes through here.
    def enqueue_req(self, conn: TConn) -> None:
        if getattr(conn, "head_ready", False):
            conn.head_ready = False
            super().enqueue_req(conn)
            return
        buffered = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        wait = _HeadWait(time.monotonic() + self.head_seconds, buffered)
        conn.sock.setblocking(False)
        self.head_waits[conn] = wait
        if not self._head_progress(conn, wait, registered=False):
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_head_readable, conn))

    def on_head_readable(self, conn: TConn, _sock: object) -> None:
        wait = self.head_waits.get(conn)
        if wait is None:
            return
        try:
            data = conn.sock.recv(max(1, self.head_max_bytes + len(END_OF_HEAD) - len(wait.buffer)))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its head was complete
            self._drop_head_wait(conn)
            return
        wait.buffer += data
        self._head_progress(conn, wait, registered=True, searched=len(wait.buffer) - len(data))

    def _head_progress(self, conn: TConn, wait: _HeadWait, registered: bool, searched: int = 0) -> bool:
        """Hand the connection to a thread if its head is complete or refused; True if handed over."""
        buffer = wait.buffer
        if buffer.find(END_OF_HEAD, max(0, searched - len(END_OF_HEAD) + 1)) < 0:
            if len(buffer) <= self.head_max_bytes:
                return False
            line_end = buffer.find(b"\r\n")
            limit = self.cfg.limit_request_line
            if limit > 0 and (line_end < 0 or line_end > limit):
                wait.error = LimitRequestLine(line_end if line_end >= 0 else len(buffer), limit)
            else:
                wait.error = LimitRequestHeaders("request head too large")
        del self.head_waits[conn]
        if registered:
            self.poller.unregister(conn.sock)
        conn.init()  # the parser, now: nothing is read from the socket here
        conn.parser.unreader.unread(bytes(buffer))
        conn.data_ready = True
        conn.head_ready = True
        conn.head_error = wait.error
        self.enqueue_req(conn)
        return True

    def _drop_head_wait(self, conn: TConn) -> None:
        del self.head_waits[conn]
        self._close_polled(conn)

    def _close_polled(self, conn: TConn) -> None:
        """Close a connection the event loop was watching."""
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def finish_request(self, conn: TConn, fs: Any) -> None:
        """As gthread's, except that a connection it would close gracefully lingers instead."""
        if fs.cancelled() or (fs.exception() is None and not fs.result()):
            self._linger(conn)
            return
        super().finish_request(conn, fs)

    def _linger(self, conn: TConn) -> None:
        """Half-close, then discard what the client still sends until it closes or time is up.

        Closing a socket with unread bytes makes the kernel send RST, which can destroy the response
        before the client reads it (a 507 or 413 answered in the middle of an upload). gunicorn's
        graceful close waits for the client's end in the event loop itself, blocking up to 2 s per
        connection: a few clients that never close their end stalled every connection of the
        worker. Here a lingering connection costs a file descriptor and no wait (nginx's
        lingering close); it counts against worker_connections until it is closed.
        """
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_linger_readable, conn))
        except (OSError, ValueError, KeyError):  # the client is gone already
            self.nr_conns -= 1
            conn.close()
            return
        self.lingering[conn] = time.monotonic() + self.linger_seconds

    def on_linger_readable(self, conn: TConn, _sock: object) -> None:
        try:
            received = conn.sock.recv_into(self._discard)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            received = 0
        if not received:  # the client has closed its end: both ends are done
            self._end_linger(conn)

    def _end_linger(self, conn: TConn) -> None:
        del self.lingering[conn]
        self._close_polled(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        expired = []
        for conn, wait in self.head_waits.items():  # oldest first: all waits are equally long
            if wait.deadline > now:
                break
            expired.append(conn)
        for conn in expired:  # closed without an answer: a head this slow is not a browser's
            self._drop_head_wait(conn)
        overdue = []
        for conn, deadline in self.lingering.items():
            if deadline > now:
                break
            overdue.append(conn)
        for conn in overdue:
            self._end_linger(conn)

    def handle(self, conn: TConn) -> Any:
        error = getattr(conn, "head_error", None)
        if error is not None:
            conn.head_error = None
            conn.sock.setblocking(True)
            try:
                raise error  # so that the log line shows its type, as for the parser's refusals
            except type(error):
                self.handle_error(None, conn.sock, conn.client, error)
            return False
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        catcher = _ResponseCatcher()
        super().handle_error(req, catcher, None, exc)  # no peer address, even for the log call
        status_line = catcher.data.split(b"\r\n", 1)[0]
        if not status_line.startswith(b"HTTP/1.1 "):
            status_line = b"HTTP/1.1 500 Internal Server Error"
        try:
            util.write_nonblock(client, error_response(status_line))
        except Exception:  # the client is gone; nothing to tell it
            self.log.debug("Failed to send error message.")
