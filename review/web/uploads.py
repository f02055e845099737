"""Uploaded bundles go to the station's own disk, never to a shared temporary directory.

A bundle is ciphertext (sealed envelopes and a signed manifest), but it may be gigabytes: Werkzeug
would spool a large file part to /tmp. Here each file part streams into a private file (0600)
under `<station>/incoming/`, which `staged_upload` removes when the view is done with it.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from flask import Request, current_app, request

from review.errors import ReviewError

INCOMING_DIR = "incoming"


def incoming_dir() -> Path:
    directory: Path = current_app.extensions["station.desk"].station.root / INCOMING_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


class StagingRequest(Request):
    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return tempfile.NamedTemporaryFile(dir=incoming_dir(), prefix="upload-", suffix=".tar", delete=False)


@contextmanager
def staged_upload(field: str, missing: str) -> Iterator[tuple[Path, str]]:
    """The uploaded file part `field` as (its private file, the name the browser gave).

    Refused with `missing` when no file was chosen. Every file part the request staged, this one
    and any other, is removed afterwards."""
    staged = [Path(part.stream.name) for part in request.files.values()]  # type: ignore[union-attr]
    try:
        for part in request.files.values():
            part.stream.close()
        upload = request.files.get(field)
        if upload is None or not upload.filename:
            raise ReviewError(missing)
        yield Path(upload.stream.name), upload.filename  # type: ignore[union-attr]
    finally:
        for path in staged:
            path.unlink(missing_ok=True)
