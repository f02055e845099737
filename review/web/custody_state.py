"""What this unlocked session has verified of the custody log, so the dashboard checks only new events.

The whole log is verified (review/custody.py verify) on the first dashboard of an unlock, and again
whenever the reviewer asks; in between each dashboard verifies only the events added since, chained
to the head verified before (custody.verify_after). A change to an event verified earlier is found
by the next whole verification (or `tamga-review custody verify`), not by that cheap step: so the
page says when the whole log was last verified, and never calls more verified than was checked.
"""

import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crypto.signing import VerifyKey
from review import custody


@dataclass(frozen=True)
class Verified:
    events: int  # every event up to this one has been verified in this session
    head: str
    whole_at: datetime.datetime  # when the whole log was last verified from its first event (UTC)
    whole_events: int  # how many events that whole verification covered


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class CustodyCheck:
    """The last verification's result; forget() it on Lock. Raises CustodyBroken as custody does."""

    def __init__(self, clock: Callable[[], datetime.datetime] = _utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()  # two dashboards at once verify one after the other
        self._done: Verified | None = None

    def current(self, db: Session, verify_key: VerifyKey) -> Verified:
        """The whole log verified the first time, then only the events added since."""
        with self._lock:
            done = self._done
            if done is None:
                return self._whole(db, verify_key)
            self._done = None  # a failure below leaves nothing verified to build on
            events, head = custody.verify_after(db, verify_key, done.events, done.head)
            self._done = Verified(events, head, done.whole_at, done.whole_events)
            return self._done

    def whole(self, db: Session, verify_key: VerifyKey) -> Verified:
        """Verify every event again, from the first."""
        with self._lock:
            return self._whole(db, verify_key)

    def forget(self) -> None:
        with self._lock:
            self._done = None

    def _whole(self, db: Session, verify_key: VerifyKey) -> Verified:
        self._done = None
        at = self._clock()
        events, head = custody.verify(db, verify_key)
        self._done = Verified(events, head, at, events)
        return self._done
