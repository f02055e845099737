"""Accepting a submission: receive and seal the stream, then commit files and rows together."""

import contextlib
import threading
import time
from collections.abc import Iterator

from flask import request
from flask_wtf.csrf import validate_csrf
from sqlalchemy.orm import Session
from wtforms.validators import ValidationError

from submission import receiver
from submission.errors import Busy, FormExpired, TooLarge, TooManyUploads
from submission.models import Envelope, Submission
from submission.settings import Settings
from submission.slots import LOCKS_DIR, SlotDirectory, family_key
from submission.sources import current_source_id, get_or_create_source
from submission.store import EnvelopeStore
from submission.watchdog import Watchdog

MULTIPART_OVERHEAD = 1024 * 1024
RESERVE_LOCK = "disk-reserve.lock"


def _check_token(token: str) -> None:
    try:
        validate_csrf(token)
    except ValidationError:
        raise FormExpired() from None


class Intake:
    """Per-worker state: the store, the recipients, and the caps on uploads in flight.

    An upload holds three things while it streams: a thread of this worker (capped per worker,
    below gunicorn's threads, so pages stay served), a slot of its session and a global slot
    (both shared by every worker process, submission/slots.py). None is taken before the CSRF
    token, the body's small first part, has arrived under a short deadline; after it, the body
    must keep a minimum data rate (submission/watchdog.py).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.slots = SlotDirectory(settings.data_dir / LOCKS_DIR)
        self.slots.remove_stale()
        self.store = EnvelopeStore(
            settings.store_dir, settings.limits.disk_reserve_bytes, self.slots.directory / RESERVE_LOCK
        )
        self.watchdog = Watchdog()
        self._uploads = threading.BoundedSemaphore(settings.limits.max_concurrent_uploads)

    def _max_body(self) -> int:
        limits = self.settings.limits
        return limits.max_submission_bytes + limits.max_message_chars * 4 + MULTIPART_OVERHEAD

    def accept(self, db: Session) -> Submission:
        """Seal the current request's body and record it; nothing is kept on any failure."""
        source = current_source_id()  # the session is checked before a byte of the body is read
        boundary = receiver.boundary_of(request.headers.get("Content-Type", ""))
        if request.content_length is not None and request.content_length > self._max_body():
            raise TooLarge()
        self.store.check_room(request.content_length or 0)  # DiskFullError is an OutOfSpace page
        limits = self.settings.limits
        sock = request.environ.get("gunicorn.socket")
        request.max_content_length = self._max_body()
        with self.watchdog.watch(sock, time.monotonic() + limits.token_seconds) as watch:
            upload = receiver.Upload(
                request.stream,
                boundary,
                self.store,
                list(self.settings.recipients),
                limits,
                _check_token,
                watch,
            )
            if sock is not None:  # an upload that stalls this long is abandoned
                sock.settimeout(limits.idle_upload_seconds)
            try:
                upload.read_token()
                with self.upload_slots(source):
                    watch.set_deadline(None)
                    watch.require_rate(limits.min_upload_bytes_per_second, limits.upload_rate_window_seconds)
                    received = upload.read_rest()
            finally:
                if sock is not None:
                    sock.settimeout(None)
        return self._commit(db, received)

    @contextlib.contextmanager
    def upload_slots(self, source: str) -> Iterator[None]:
        """This worker's thread, the session's slot and a global slot, or a refusal at once."""
        limits = self.settings.limits
        if not self._uploads.acquire(blocking=False):
            raise Busy()
        try:
            family = "upload-session-" + family_key(self.settings.secret_key, source)
            session_slot = self.slots.take(family, limits.max_uploads_per_session)
            if session_slot is None:
                raise TooManyUploads()
            with session_slot:
                global_slot = self.slots.take("upload", limits.max_uploads_in_flight)
                if global_slot is None:
                    raise Busy()
                with global_slot:
                    yield
        finally:
            self._uploads.release()

    def _commit(self, db: Session, received: receiver.Received) -> Submission:
        try:
            source = get_or_create_source(db)
            submission = Submission(source=source)
            for sealed in received.items:
                sealed.envelope.commit()
                submission.envelopes.append(
                    Envelope(item=sealed.item, kind=sealed.kind, storage_name=sealed.envelope.name)
                )
            self.store.fsync_directory()
            db.add(submission)
            db.commit()
            return submission
        except BaseException:
            db.rollback()
            received.discard()
            for sealed in received.items:
                sealed.envelope.unlink_committed()
            raise
