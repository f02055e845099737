"""A loopback TCP proxy between a browser and the intake that records every byte the browser
sends, and can cut connections or act at given points of the upload.

    with RecordingProxy(intake.port) as proxy:     # the browser goes to proxy.base_url
        proxy.cut_at(2_000_000, 6_000_000)         # close the connection carrying those bytes
        proxy.when_sent(3_000_000, kill_a_worker)  # call once the browser has sent that much
        proxy.hold_at(4_000_000)                   # stall there until proxy.release()
        ...
        assert marker not in proxy.sent()

Byte positions count everything the browser sent through the proxy, all connections together.
"""

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

HOST = "127.0.0.1"
READ_SIZE = 64 * 1024


class RecordingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.recorded = bytearray()
        self.cuts: list[int] = []
        self.cut_count = 0
        self.actions: list[tuple[int, Callable[[], None]]] = []
        self.hold: int | None = None
        self.released = threading.Event()
        self.closing = False
        self.sockets: set[socket.socket] = set()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def sent(self) -> bytes:
        with self.lock:
            return bytes(self.recorded)

    def cut_at(self, *positions: int) -> None:
        with self.lock:
            self.cuts = sorted(self.cuts + list(positions))

    def when_sent(self, position: int, action: Callable[[], None]) -> None:
        with self.lock:
            self.actions.append((position, action))

    def hold_at(self, position: int) -> None:
        """Forward nothing past `position` until release() (a stalled circuit)."""
        with self.lock:
            self.hold = position
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def __enter__(self) -> "RecordingProxy":
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.closing = True
        self.released.set()
        self.listener.close()
        with self.lock:
            for sock in list(self.sockets):
                _close(sock)

    def _accept(self) -> None:
        while not self.closing:
            try:
                browser, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection((HOST, self.upstream_port))
            except OSError:
                _close(browser)
                continue
            with self.lock:
                self.sockets |= {browser, server}
            threading.Thread(target=self._upstream, args=(browser, server), daemon=True).start()
            threading.Thread(target=self._downstream, args=(server, browser), daemon=True).start()

    def _upstream(self, browser: socket.socket, server: socket.socket) -> None:
        """Browser to server: record, cut, act."""
        try:
            while data := browser.recv(READ_SIZE):
                if self.hold is not None and len(self.recorded) + len(data) > self.hold:
                    self.released.wait()
                    self.hold = None
                with self.lock:
                    start = len(self.recorded)
                    cut = next((c for c in self.cuts if start < c <= start + len(data)), None)
                    if cut is not None:
                        data = data[: cut - start]
                        self.cuts.remove(cut)
                        self.cut_count += 1
                    self.recorded += data
                    due = [a for p, a in self.actions if p <= len(self.recorded)]
                    self.actions = [(p, a) for p, a in self.actions if p > len(self.recorded)]
                server.sendall(data)
                for action in due:
                    action()
                if cut is not None:
                    break
        except OSError:
            pass
        self._drop(browser, server)

    def _downstream(self, server: socket.socket, browser: socket.socket) -> None:
        try:
            while data := server.recv(READ_SIZE):
                browser.sendall(data)
        except OSError:
            pass
        self._drop(browser, server)

    def _drop(self, *sockets: socket.socket) -> None:
        with self.lock:
            for sock in sockets:
                self.sockets.discard(sock)
                _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
