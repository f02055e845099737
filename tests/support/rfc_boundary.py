"""Werkzeug's test client, made to write RFC 2046 multipart boundaries.

Werkzeug builds its boundary from str(time()) and str(random()), which is 71 or 72 characters
long in about 3 requests in 1,000 (a random() such as 1.2e-05 prints long). The intake refuses a
boundary over RFC 2046's 70 characters before reading the body (issue 11, item 4), so those
requests got 400 and made tests fail at random. Browsers, curl and requests all write 70 or
fewer. Here the test client gets a boundary of the same shape that always fits.
"""

import secrets
from collections.abc import Mapping
from typing import IO, Any

import werkzeug.test

_werkzeug_encoder = werkzeug.test.stream_encode_multipart


def _stream_encode_multipart(
    data: Mapping[str, Any],
    use_tempfile: bool = True,
    threshold: int = 1024 * 500,
    boundary: str | None = None,
) -> tuple[IO[bytes], int, str]:
    if boundary is None:
        boundary = f"---------------WerkzeugFormPart_{secrets.token_hex(16)}"
    return _werkzeug_encoder(data, use_tempfile=use_tempfile, threshold=threshold, boundary=boundary)


def install() -> None:
    """Make every EnvironBuilder in this process write boundaries of at most 70 characters."""
    werkzeug.test.stream_encode_multipart = _stream_encode_multipart
