"""Serving the station on loopback only, with the network guard on.

The listening socket is made and bound on 127.0.0.1 inside netguard.loopback_listener() and each
connection is accepted inside netguard.accepting(): the audit hook allows exactly that, and still
refuses every outgoing connection and every other bind. One line is printed: the address with the
one-time token. A thread locks the station when it has been idle too long, even with no request.
"""

import socket
import socketserver
import threading
from collections.abc import Callable

from flask import Flask
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from review import netguard
from review.errors import ReviewError
from review.web import warm
from review.web.desk import Desk

IDLE_CHECK_SECONDS = 10


class QuietHandler(WSGIRequestHandler):
    """No access log: it would name items and searches."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass

    def log(self, *args: object, **kwargs: object) -> None:
        pass


class LoopbackServer(ThreadedWSGIServer):
    daemon_threads = True
    station_app: Flask

    def server_bind(self) -> None:
        """Bind without HTTPServer's getfqdn(): no name lookup, not even of 127.0.0.1."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = netguard.LOOPBACK, self.server_address[1]

    def get_request(self) -> tuple[socket.socket, object]:
        with netguard.accepting():
            return self.socket.accept()


def make_server(port: int, app: Callable[[int], Flask]) -> LoopbackServer:
    """Bind 127.0.0.1:port (0: a free port), then build the app for the port bound; raise ReviewError
    when the port cannot be had."""
    try:
        with netguard.loopback_listener():
            server = LoopbackServer(netguard.LOOPBACK, port, Flask(__name__), handler=QuietHandler)
    except SystemExit:  # Werkzeug prints the reason and exits when the port is taken
        raise ReviewError(f"cannot listen on {netguard.LOOPBACK}:{port}") from None
    try:
        server.station_app = app(server.port)
        server.app = server.station_app
    except BaseException:
        server.server_close()
        raise
    return server


def url(server: LoopbackServer, token: str) -> str:
    return f"http://{netguard.LOOPBACK}:{server.port}/?token={token}"


def serve(server: LoopbackServer, announce: Callable[[str], None]) -> None:
    """Announce the one-time address and serve until interrupted; the keys go with the process."""
    desk: Desk = server.station_app.extensions["station.desk"]
    assert desk.token is not None
    warm(server.station_app)  # before the address is printed, so it keeps no request waiting
    stop = threading.Event()

    def lock_when_idle() -> None:
        while not stop.wait(IDLE_CHECK_SECONDS):
            desk.expire_if_idle()

    watcher = threading.Thread(target=lock_when_idle, name="idle-lock", daemon=True)
    watcher.start()
    announce(url(server, desk.token))
    try:
        server.serve_forever()
    finally:
        stop.set()
        desk.lock()
        server.server_close()
