"""The reviewer at the station: the one browser let in, the unlocked keys, and when they lapse.

One person, one browser: the one-time token printed by `serve` is exchanged once for a browser
secret kept in the session cookie. Unlocking puts the station's keys in this process's memory only;
Lock, the idle timeout and the end of the process drop them, with every message decrypted for the
search, the thumbnails kept for the inbox and what was verified of the custody log.

Warning: holds private keys and decrypted messages; never log it or put it in a page.
"""

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from review.errors import ReviewError
from review.station import Keys, Station
from review.web.custody_state import CustodyCheck


class Desk:
    def __init__(self, station: Station, idle_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.station = station
        self.idle_seconds = idle_seconds
        self.token: str | None = secrets.token_urlsafe(32)
        self.browser = secrets.token_urlsafe(32)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: Keys | None = None
        self._actor = ""
        self._seen = 0.0
        self.messages: dict[int, str] = {}  # item id -> text, for the search; dropped on lock
        self.opened: set[int] = set()  # messages shown this session: their `opened` event is written
        self.thumbnails: OrderedDict[int, object] = OrderedDict()  # item id -> rendered, newest last
        self.custody = CustodyCheck()  # how much of the custody log this unlock has verified

    def __repr__(self) -> str:
        return "Desk(...)"

    def exchange(self, token: str) -> str | None:
        """The browser secret for the one-time token, once; None afterwards or for a wrong token."""
        with self._lock:
            if self.token is None or not hmac.compare_digest(token.encode(), self.token.encode()):
                return None
            self.token = None
            return self.browser

    def admits(self, browser: object) -> bool:
        return isinstance(browser, str) and hmac.compare_digest(browser.encode(), self.browser.encode())

    def unlock(self, passphrase: str, actor: str) -> None:
        """Open the station's keys (raises on a wrong passphrase); the actor names custody events."""
        keys = self.station.unlock(lambda: passphrase)
        with self._lock:
            self._keys, self._actor, self._seen = keys, actor, self._clock()

    def lock(self) -> None:
        with self._lock:
            self._keys, self._actor = None, ""
            self.messages.clear()
            self.opened.clear()
            self.thumbnails.clear()
        self.custody.forget()

    def expire_if_idle(self) -> bool:
        """Lock when idle too long; True when the keys are (now) gone."""
        with self._lock:
            idle = self._keys is not None and self._clock() - self._seen > self.idle_seconds
        if idle:
            self.lock()
        return self._keys is None

    def touch(self) -> None:
        with self._lock:
            self._seen = self._clock()

    @property
    def unlocked(self) -> bool:
        return self._keys is not None

    @property
    def keys(self) -> Keys:
        keys = self._keys
        if keys is None:
            raise Locked()
        return keys

    @property
    def actor(self) -> str:
        if self._keys is None:
            raise Locked()
        return self._actor


class Locked(ReviewError):
    """The station is locked: the keys are not in memory."""

    def __init__(self) -> None:
        super().__init__("the station is locked: unlock it first")
