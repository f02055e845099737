"""Resumable uploads of envelopes sealed in the source's browser: the store behind the tus server.

Each upload is one envelope, written as a private `*.part` through submission/store.py in
`<data dir>/uploads/` (beside the store, so the store's stale-part cleaning never takes a part
that waits between pieces), and one row (models.Upload) holding the offset written by the last
piece: a worker killed mid-piece costs the client a HEAD and a retry from there. The part is
fsynced once, when complete; after a crash of the machine every incomplete upload is forgotten
(submission/boots.py). What can be checked without a key is checked as the bytes arrive
(crypto.check_unverified_prefix); an upload that fails it is removed at once. Committing moves
complete uploads into one submission, all or none.
"""

import datetime
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from flask import request
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from crypto import HeaderError, check_unverified_prefix, max_sealed_size
from crypto.files import fsync_directory
from submission.boots import current_boot_id, once_per_boot
from submission.errors import BadSubmission, NotFound, TooLarge, UploadConflict, UploadInterrupted
from submission.models import Envelope, Submission, Upload, today
from submission.piece_body import READ_SIZE, open_body
from submission.receiver import NOTHING_TO_SEND
from submission.sources import get_or_create_source
from submission.store import EnvelopeStore, PendingEnvelope
from submission.submit import Intake

UPLOADS_DIR = "uploads"
MAX_METADATA_BYTES = 8192  # the JSON of a base name and a declared type (255 characters each)
MESSAGE_ITEM = 0


class Uploads:
    """The resumable uploads of every session, with the same limits as the no-JS path."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.store = intake.store
        self.limits = intake.settings.limits
        self.directory: Path = intake.settings.data_dir / UPLOADS_DIR
        self.directory.mkdir(mode=0o700, exist_ok=True)
        # Without a boot id a crash cannot be told from a killed worker: fsync every piece.
        self.sync_each_piece = current_boot_id() is None

    @property
    def max_total(self) -> int:
        """What one submission's file contents may add up to, sealed (Tus-Max-Size)."""
        return max_sealed_size(self.limits.max_submission_bytes) + self.limits.max_files * max_sealed_size(0)

    def _max_length(self, kind: str) -> int:
        if kind == "message":
            return max_sealed_size(self.limits.max_message_chars * 4)
        if kind == "file-metadata":
            return max_sealed_size(MAX_METADATA_BYTES)
        return self.max_total

    def create(self, db: Session, owner: str, kind: str, item: int, length: int) -> Upload:
        """A new, empty upload: refused at once if it could not fit the submission's limits."""
        self.remove_expired(db)
        if kind not in Envelope.KINDS or (item == MESSAGE_ITEM) != (kind == "message"):
            raise BadSubmission()
        if not 0 <= item <= self.limits.max_files or length > self._max_length(kind):
            raise TooLarge()
        if length < 1:  # no envelope is empty
            raise BadSubmission()
        count, contents = db.execute(
            select(
                func.count(Upload.id),
                func.coalesce(func.sum(Upload.length).filter(Upload.kind == "file-content"), 0),
            ).where(Upload.owner == owner)
        ).one()
        if count >= 2 * self.limits.max_files + 1:
            raise TooLarge()
        if kind == "file-content" and contents + length > self.max_total:
            raise TooLarge()
        self.store.check_room(length)  # DiskFullError is an OutOfSpace page
        envelope = self.store.new(self.directory)  # locked until the row exists
        fsync_directory(self.directory)  # a row never outlives a crash that loses its part
        try:
            upload = Upload(
                owner=owner,
                item=item,
                kind=kind,
                length=length,
                storage_name=envelope.name,
                expires_day=self._expires_day(),
            )
            db.add(upload)
            db.commit()
        except BaseException:
            db.rollback()
            envelope.discard()
            raise
        envelope.release()
        return upload

    def _expires_day(self) -> datetime.date:
        """The first UTC midnight at least the expiry after now: days only, never a precise time."""
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
            hours=self.limits.upload_expiry_hours
        )
        return later.date() + datetime.timedelta(days=1)

    def find(self, db: Session, owner: str, upload_id: str) -> Upload:
        """The owner's upload, or NotFound (another session's, an expired or an unknown one)."""
        upload = db.get(Upload, upload_id) if len(upload_id) == 32 else None
        if upload is None or upload.owner != owner:
            raise NotFound()
        if upload.expires_day <= today():
            self._remove(db, upload)
            raise NotFound()
        return upload

    def _lock(self, db: Session, upload: Upload) -> PendingEnvelope:
        """The upload's part, locked: UploadConflict while another request writes it."""
        try:
            envelope = self.store.resume(self.directory, upload.storage_name)
        except FileNotFoundError:  # lost to a crash before it was durable, or removed: no upload
            self._remove(db, upload)
            raise NotFound() from None
        if envelope is None:
            raise UploadConflict()
        return envelope

    def append(self, db: Session, upload: Upload, offset: int, source: str) -> int:
        """Write the request's body at `offset`; return the new offset.

        Bytes that arrived before a cut connection are kept (recorded), so the client resumes
        after them. A body that is not the start of an envelope to the station's
        recipients, of this length, removes the upload.
        """
        if offset != upload.offset:
            raise UploadConflict()
        request.max_content_length = upload.length - offset
        with self.intake.upload_slots(source):
            envelope = self._lock(db, upload)
            db.refresh(upload)  # under the lock: the offset no other writer can move now
            if upload.offset != offset:
                envelope.release()
                raise UploadConflict()
            envelope.cut_to(offset)
            removed = False
            try:
                self._receive(db, upload, envelope)
            except HeaderError:
                removed = True
                self._remove(db, upload, envelope)
                raise BadSubmission() from None
            finally:
                if not removed:
                    self._record(db, upload, envelope)
        return upload.offset

    def _receive(self, db: Session, upload: Upload, envelope: PendingEnvelope) -> None:
        limits = self.limits
        sock = request.environ.get("gunicorn.socket")
        prefix = None if upload.header_checked else bytearray(envelope.read_start(upload.offset))
        recipients = list(self.intake.settings.recipients)
        body = open_body(request.environ, request.stream.read, request.content_length)
        buffer = memoryview(bytearray(READ_SIZE))
        with self.intake.watchdog.watch(sock, None) as watch:
            watch.require_rate(limits.min_upload_bytes_per_second, limits.upload_rate_window_seconds)
            if sock is not None:
                sock.settimeout(limits.idle_upload_seconds)
            try:
                while envelope.size < upload.length:  # never a read past it: a maximum, werkzeug says 413
                    try:
                        count = body.readinto(buffer[: min(READ_SIZE, upload.length - envelope.size)])
                    except RequestEntityTooLarge:
                        raise TooLarge() from None
                    except (ClientDisconnected, OSError):
                        watch.check()  # a body cut for being too slow says so
                        raise UploadInterrupted() from None
                    watch.check()
                    watch.arrived(count)
                    if not count:
                        return
                    block = buffer[:count]
                    if prefix is not None:
                        prefix += block
                        if check_unverified_prefix(bytes(prefix), upload.length, recipients) is not None:
                            upload.header_checked, prefix = True, None
                    envelope.write(block)
            finally:
                if sock is not None:
                    sock.settimeout(None)

    def _record(self, db: Session, upload: Upload, envelope: PendingEnvelope) -> None:
        """Record what arrived as the offset (fsynced first if that completes the upload); only
        then is it acknowledged. Room claimed past it goes back to the reserve."""
        try:
            if envelope.size == upload.length or self.sync_each_piece:
                envelope.sync()
            else:
                envelope.cut_to(envelope.size)
            upload.offset = envelope.size
            db.commit()
        finally:
            envelope.release()

    def delete(self, db: Session, upload: Upload) -> None:
        self._remove(db, upload, self._lock(db, upload))

    def _remove(self, db: Session, upload: Upload, envelope: PendingEnvelope | None = None) -> None:
        """The row, then the part: a part without a row is removed by the next clean-up."""
        db.delete(upload)
        db.commit()
        if envelope is not None:
            envelope.discard()
        else:
            self.remove_orphans(db)

    def remove_expired(self, db: Session) -> int:
        return remove_expired(db, self.store, self.directory)

    def remove_orphans(self, db: Session) -> int:
        return remove_orphans(db, self.store, self.directory)

    def commit(self, db: Session, owner: str, upload_ids: Sequence[str]) -> Submission:
        """Move complete uploads into one submission, as the no-JS path commits one; else none."""
        if not upload_ids:
            raise BadSubmission(NOTHING_TO_SEND)
        if len(set(upload_ids)) != len(upload_ids) or len(upload_ids) > 2 * self.limits.max_files + 1:
            raise BadSubmission()
        try:
            uploads = [self.find(db, owner, upload_id) for upload_id in upload_ids]
        except NotFound:
            raise BadSubmission() from None
        self._check_whole(uploads)
        envelopes: list[PendingEnvelope] = []
        try:
            for upload in uploads:
                try:
                    envelope = self._lock(db, upload)
                except (NotFound, UploadConflict):
                    raise BadSubmission() from None
                envelopes.append(envelope)
                envelope.cut_to(upload.length)  # drops room a killed writer claimed past the end
            submission = Submission(source=get_or_create_source(db))
            for upload, envelope in zip(uploads, envelopes, strict=True):
                envelope.commit()
                submission.envelopes.append(
                    Envelope(item=upload.item, kind=upload.kind, storage_name=upload.storage_name)
                )
                db.delete(upload)
            self.store.fsync_directory()
            fsync_directory(self.directory)
            db.add(submission)
            db.commit()
            return submission
        except BaseException:
            db.rollback()
            for envelope in envelopes:
                envelope.restore()
                envelope.release()
            raise

    def _check_whole(self, uploads: Sequence[Upload]) -> None:
        """Every upload complete; at most one message; files 1..N, each with metadata and content."""
        if not all(upload.complete for upload in uploads):
            raise BadSubmission()
        kinds = Counter((upload.item, upload.kind) for upload in uploads)
        files = sorted({upload.item for upload in uploads if upload.item != MESSAGE_ITEM})
        if files != list(range(1, len(files) + 1)) or len(files) > self.limits.max_files:
            raise BadSubmission()
        wanted = {(item, kind): 1 for item in files for kind in ("file-metadata", "file-content")}
        if kinds.get((MESSAGE_ITEM, "message")):
            wanted[(MESSAGE_ITEM, "message")] = 1
        if dict(kinds) != wanted:
            raise BadSubmission()
        total = sum(upload.length for upload in uploads if upload.kind == "file-content")
        if total > self.max_total:
            raise TooLarge()


def remove_expired(db: Session, store: EnvelopeStore, directory: Path) -> int:
    """Delete every upload past its day and the parts no upload owns; return how many uploads.

    At start-up, lazily on new uploads, and by `tamga-intake purge`: nothing of them is left.
    The first call after a reboot also forgets every incomplete upload (submission/boots.py).
    """
    boot_id = current_boot_id()
    if boot_id is not None and directory.is_dir():
        once_per_boot(directory, boot_id, lambda: _forget_incomplete(db))
    result = cast(CursorResult[tuple[()]], db.execute(delete(Upload).where(Upload.expires_day <= today())))
    removed = result.rowcount
    db.commit()
    remove_orphans(db, store, directory)
    return removed


def _forget_incomplete(db: Session) -> None:
    """The rows of uploads not yet complete: their parts' unsynced bytes may be lost."""
    db.execute(delete(Upload).where(Upload.offset < Upload.length))
    db.commit()


def remove_orphans(db: Session, store: EnvelopeStore, directory: Path) -> int:
    """Delete the parts in `directory` that no upload row owns and no request holds."""
    if not directory.is_dir():
        return 0

    def is_open(name: str) -> bool:
        return db.scalar(select(Upload.id).where(Upload.storage_name == name)) is not None

    return store.remove_stale_parts(directory, keep=is_open)
