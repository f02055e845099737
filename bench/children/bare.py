"""The bare endpoint of bench/intake.py (b): a WSGI app gunicorn serves as `bench.children.bare:app`.

It parses the multipart body like the intake does (submission/receiver.py's READ_SIZE steps) and
writes the file data unsealed, through the store's buffer size (SEALED_WRITE_BUFFER), fsynced and
renamed into TAMGA_BENCH_BARE_DIR; no more: no Flask, session, CSRF, database or sealing.
"""

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, File, MultipartDecoder
from werkzeug.wsgi import get_input_stream

from submission.receiver import READ_SIZE
from submission.store import SEALED_WRITE_BUFFER

GiB = 1 << 30
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Parse the multipart body like the intake does and write the file data unsealed; no more."""
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"bare\n"]
    _, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
    stream = get_input_stream(environ, max_content_length=8 * GiB)
    decoder = MultipartDecoder(options["boundary"].encode("latin-1"), max_form_memory_size=4 * READ_SIZE)
    directory = Path(os.environ["TAMGA_BENCH_BARE_DIR"])
    out: IO[bytes] | None = None
    part = final = directory
    complete = False
    while not complete:
        chunk = stream.read(READ_SIZE)
        decoder.receive_data(chunk or None)
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, File):
                name = secrets.token_hex(16)
                final, part = directory / name, directory / (name + ".part")
                fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                out = os.fdopen(fd, "wb", buffering=SEALED_WRITE_BUFFER)
            elif isinstance(event, Data) and out is not None:
                out.write(event.data)
                if not event.more_data:
                    out.flush()
                    os.fsync(out.fileno())
                    os.rename(part, final)
                    out.close()
                    out = None
            elif isinstance(event, Epilogue):
                complete = True
                break
        if not chunk and not complete:
            if out is not None:
                out.close()
                os.unlink(part)
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"interrupted\n"]
    start_response("303 See Other", [("Location", "/thanks"), ("Content-Length", "0")])
    return [b""]
