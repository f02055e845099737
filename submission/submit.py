"""Accepting a submission: receive and seal the stream, then commit files and rows together."""

import threading

from flask import request
from flask_wtf.csrf import validate_csrf
from sqlalchemy.orm import Session
from wtforms.validators import ValidationError

from submission import receiver
from submission.errors import BadSubmission, Busy, FormExpired, OutOfSpace, TooLarge
from submission.models import Envelope, Submission
from submission.settings import Settings
from submission.sources import current_source_id, get_or_create_source
from submission.store import DiskFullError, EnvelopeStore

MULTIPART_OVERHEAD = 1024 * 1024


def _check_token(token: str) -> None:
    try:
        validate_csrf(token)
    except ValidationError:
        raise FormExpired() from None


class Intake:
    """Per-worker state: the store, the recipients and the cap on concurrent uploads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = EnvelopeStore(settings.store_dir, settings.limits.disk_reserve_bytes)
        self._uploads = threading.BoundedSemaphore(settings.limits.max_concurrent_uploads)

    def _max_body(self) -> int:
        limits = self.settings.limits
        return limits.max_submission_bytes + limits.max_message_chars * 4 + MULTIPART_OVERHEAD

    def accept(self, db: Session) -> Submission:
        """Seal the current request's body and record it; nothing is kept on any failure."""
        current_source_id()  # the session is checked before a byte of the body is read
        if request.mimetype != "multipart/form-data" or "boundary" not in request.mimetype_params:
            raise BadSubmission()
        if request.content_length is not None and request.content_length > self._max_body():
            raise TooLarge()
        try:
            self.store.check_room(request.content_length or 0)
        except DiskFullError:
            raise OutOfSpace() from None
        if not self._uploads.acquire(blocking=False):
            raise Busy()
        sock = request.environ.get("gunicorn.socket")
        try:
            if sock is not None:  # an upload that stalls this long is abandoned
                sock.settimeout(self.settings.limits.idle_upload_seconds)
            request.max_content_length = self._max_body()
            received = receiver.receive(
                request.stream,
                request.mimetype_params["boundary"].encode("latin-1"),
                self.store,
                list(self.settings.recipients),
                self.settings.limits,
                _check_token,
            )
        finally:
            if sock is not None:
                sock.settimeout(None)
            self._uploads.release()
        return self._commit(db, received)

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
