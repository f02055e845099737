"""Receive a multipart submission from the raw request stream, sealing each file part as it arrives.

Werkzeug's own form parser would spool file parts over 500 KiB to a temporary file in plaintext,
so the submit view never touches request.form or request.files: it hands request.stream here.
The CSRF token must be the first part and is checked before any file byte is sealed.
"""

import contextlib
import errno
import json
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, BinaryIO, cast

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder, State

from crypto import Recipient, Sealer, seal_bytes
from submission.errors import BadSubmission, FormExpired, IntakeError, OutOfSpace, TooLarge, UploadInterrupted
from submission.settings import Limits
from submission.store import EnvelopeStore, PendingEnvelope
from submission.watchdog import Watch

READ_SIZE = 64 * 1024  # per-upload memory: the decoder holds about this much
MAX_TOKEN_BYTES = 512
HEAD_READ_SIZE = 1024  # small reads before the token: a stalled body holds no slot and little memory
MAX_CONTENT_TYPE_CHARS = 200  # "multipart/form-data; boundary=" and 70 characters, with room to spare
MAX_HEAD_BYTES = 4096  # preamble and the token part together; browsers send about 250 bytes
MAX_NAME_CHARS = 255
MAX_IGNORED_BYTES = 64 * 1024
_RAW_FILENAME = re.compile(r'(?:^|;)\s*filename="([^"]*)"')
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")  # RFC 2046 bchars
CSRF_FIELD = "csrf_token"
MESSAGE_FIELD = "message"
FILES_FIELD = "files"
NOTHING_TO_SEND = _l("There was nothing to send. Write a message or choose at least one file.")


@dataclass
class SealedItem:
    item: int
    kind: str
    envelope: PendingEnvelope


@dataclass
class Received:
    """Envelopes written and fsynced as `*.part`, not yet committed."""

    items: list[SealedItem] = field(default_factory=list)

    @property
    def file_count(self) -> int:
        return sum(1 for i in self.items if i.kind == "file-content")

    def discard(self) -> None:
        for sealed in self.items:
            sealed.envelope.discard()


def base_name(filename: str) -> str:
    """The last path component only (old browsers send C:\\path\\name), bounded in length."""
    name = posixpath.basename(filename.replace("\\", "/")).strip()
    return name[:MAX_NAME_CHARS]


class _Receiver:
    def __init__(
        self,
        store: EnvelopeStore,
        recipients: list[Recipient],
        limits: Limits,
        check_token: Callable[[str], None],
    ) -> None:
        self.store = store
        self.recipients = recipients
        self.limits = limits
        self.check_token = check_token
        self.received = Received()
        self.token_checked = False
        self.part: str | None = None
        self.field_buffer = bytearray()
        self.message = bytearray()
        self.sealer: Sealer | None = None
        self.file_bytes = 0
        self.files = 0
        self.ignored_bytes = 0

    def on_field(self, name: str) -> None:
        if not self.token_checked and name != CSRF_FIELD:
            raise FormExpired()
        self.part = name if name in (CSRF_FIELD, MESSAGE_FIELD) else "ignored"
        self.field_buffer.clear()

    def on_file(self, name: str, filename: str, content_type: str) -> None:
        if not self.token_checked:
            raise FormExpired()
        if name != FILES_FIELD:
            raise BadSubmission()
        if not filename:  # the browser's empty part for "no file chosen"
            self.part = "ignored"
            return
        self.files += 1
        if self.files > self.limits.max_files:
            raise TooLarge()
        metadata = {"name": base_name(filename), "type": content_type[:255]}
        item = self.files
        meta_envelope = self.store.new()
        self.received.items.append(SealedItem(item, "file-metadata", meta_envelope))
        meta_envelope.write(seal_bytes(json.dumps(metadata).encode(), self.recipients))
        meta_envelope.sync()
        content = self.store.new()
        self.received.items.append(SealedItem(item, "file-content", content))
        # The sealer only calls write(): through the envelope, so each byte's room is claimed first.
        self.sealer = Sealer(cast(BinaryIO, content), self.recipients)
        self.part = "file"

    def on_data(self, data: bytes, more: bool) -> None:
        if self.part == "file":
            assert self.sealer is not None
            self.file_bytes += len(data)
            if self.file_bytes > self.limits.max_submission_bytes:
                raise TooLarge()
            self.sealer.write(data)
            if not more:
                self.sealer.close()
                self.sealer = None
                self.received.items[-1].envelope.sync()
        elif self.part == CSRF_FIELD:
            self.field_buffer += data
            if len(self.field_buffer) > MAX_TOKEN_BYTES:
                raise FormExpired()
            if not more:
                self.check_token(self.field_buffer.decode("ascii", "replace"))
                self.token_checked = True
        elif self.part == MESSAGE_FIELD:
            self.message += data
            if len(self.message) > self.limits.max_message_chars * 4:
                raise TooLarge()
        else:
            self.ignored_bytes += len(data)
            if self.ignored_bytes > MAX_IGNORED_BYTES:
                raise BadSubmission()

    def finish_message(self) -> None:
        try:
            text = self.message.decode("utf-8").replace("\r\n", "\n").strip()
        except UnicodeDecodeError:
            raise BadSubmission() from None
        if len(text) > self.limits.max_message_chars:
            raise TooLarge()
        if text:
            envelope = self.store.new()
            self.received.items.insert(0, SealedItem(0, "message", envelope))
            envelope.write(seal_bytes(text.encode("utf-8"), self.recipients))
            envelope.sync()

    def abort(self) -> None:
        if self.sealer is not None:
            self.sealer.abort()
        self.received.discard()


class Upload:
    """One multipart body, read in two steps: the CSRF token (a small head, under the watch's
    deadline, before the caller takes an upload slot), then the rest. On any failure nothing is
    left behind and an IntakeError rises."""

    def __init__(
        self,
        stream: IO[bytes],
        boundary: bytes,
        store: EnvelopeStore,
        recipients: list[Recipient],
        limits: Limits,
        check_token: Callable[[str], None],
        watch: Watch,
    ) -> None:
        self.stream = stream
        self.watch = watch
        self.receiver = _Receiver(store, recipients, limits, check_token)
        self.decoder = MultipartDecoder(
            boundary, max_form_memory_size=4 * READ_SIZE, max_parts=limits.max_files + 8
        )
        self.complete = False

    def read_token(self) -> None:
        """Read no more than MAX_HEAD_BYTES (preamble and token part) and check the token."""
        with self._failing_cleanly():
            head = 0
            while not self.receiver.token_checked:
                if self.complete:
                    raise FormExpired()
                if head >= MAX_HEAD_BYTES:  # a long preamble, or a token part that never ends
                    raise BadSubmission() if self.decoder.state is State.PREAMBLE else FormExpired()
                chunk = self._read(min(HEAD_READ_SIZE, MAX_HEAD_BYTES - head))
                head += len(chunk)
                self._feed(chunk, until_token=True)

    def read_rest(self) -> Received:
        """Seal every part after the token; return the envelopes written, not yet committed."""
        with self._failing_cleanly():
            receiver = self.receiver
            if not receiver.token_checked:
                raise FormExpired()
            self.complete = self.complete or _dispatch(self.decoder, receiver)  # left by read_token
            while not self.complete:
                self._feed(self._read(READ_SIZE))
            if receiver.sealer is not None:
                raise UploadInterrupted()
            receiver.finish_message()
            if not receiver.received.items:
                raise BadSubmission(NOTHING_TO_SEND)
            return receiver.received

    def _read(self, size: int) -> bytes:
        try:
            chunk = self.stream.read(size)
        except (ClientDisconnected, OSError):
            self.watch.check()  # a body cut for being too slow says so
            raise
        self.watch.check()
        self.watch.arrived(len(chunk))
        return chunk

    def _feed(self, chunk: bytes, until_token: bool = False) -> None:
        self.decoder.receive_data(chunk or None)
        try:
            self.complete = _dispatch(self.decoder, self.receiver, until_token)
        except ValueError:
            if not chunk and self.decoder.state is not State.PREAMBLE:
                raise UploadInterrupted() from None  # the body ended inside a part
            raise
        if not chunk and not self.complete and not (until_token and self.receiver.token_checked):
            raise UploadInterrupted()

    @contextlib.contextmanager
    def _failing_cleanly(self) -> Iterator[None]:
        try:
            yield
        except BaseException as error:
            self.receiver.abort()
            raise _as_intake_error(error) from None


def boundary_of(content_type: str) -> bytes:
    """The multipart/form-data boundary as bytes, or BadSubmission before a byte of the body is
    read: RFC 2046 allows 1-70 characters of its alphabet, and both the header parser and the
    decoder's preamble search cost time that grows with the boundary's length."""
    if len(content_type) > MAX_CONTENT_TYPE_CHARS:
        raise BadSubmission()
    mimetype, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not _BOUNDARY.fullmatch(boundary):
        raise BadSubmission()
    return boundary.encode("ascii")


def _dispatch(decoder: MultipartDecoder, receiver: _Receiver, until_token: bool = False) -> bool:
    """Hand the decoder's events to the receiver; True once the epilogue is reached. With
    until_token, stop as soon as the token is checked, leaving later events in the decoder."""
    while not (until_token and receiver.token_checked) and (event := decoder.next_event()) is not NEED_DATA:
        if isinstance(event, Field):
            receiver.on_field(event.name)
        elif isinstance(event, File):
            content_type = event.headers.get("Content-Type", "application/octet-stream")
            receiver.on_file(event.name, raw_filename(event.headers) or event.filename, content_type)
        elif isinstance(event, Data):
            receiver.on_data(event.data, event.more_data)
        elif isinstance(event, Epilogue):
            return True
    return False


def raw_filename(headers: Headers) -> str | None:
    """The filename as the browser sent it: browsers percent-encode quotes and send backslashes
    literally (old ones send a full Windows path), while Werkzeug's parser treats a backslash as
    an escape and would glue the folders into the name."""
    match = _RAW_FILENAME.search(headers.get("Content-Disposition", ""))
    return match.group(1) if match else None


def _as_intake_error(error: BaseException) -> BaseException:
    if isinstance(error, IntakeError):
        return error
    if isinstance(error, RequestEntityTooLarge):
        return TooLarge()
    if isinstance(error, ClientDisconnected | TimeoutError | ConnectionError):
        return UploadInterrupted()
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutOfSpace()
    if isinstance(error, ValueError):  # malformed multipart from the decoder
        return BadSubmission()
    return error
