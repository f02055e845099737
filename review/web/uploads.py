"""Uploaded bundles go to the station's own disk, never to a shared temporary directory.

A bundle is ciphertext (sealed envelopes and a signed manifest), but it may be gigabytes: Werkzeug
would spool a large file part to /tmp. Here each file part streams into a private file (0600)
under `<station>/incoming/`, which the import view removes when it is done.
"""

import tempfile
from pathlib import Path
from typing import IO

from flask import Request, current_app

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
