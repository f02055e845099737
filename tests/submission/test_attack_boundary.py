"""Issue 11, item 4: a multipart boundary over RFC 2046's 70 characters, or a long preamble, is
refused before the decoder spends time on it."""

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from submission.receiver import MAX_HEAD_BYTES
from tests.support.forms import new_source, stored_files, submit_token


class CountingStream(io.BytesIO):
    """A request body that counts what the server reads of it."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


def body(boundary: str, token: str, preamble: bytes = b"") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n\r\nballots carried out\r\n',
        f"--{boundary}--\r\n",
    ]
    return preamble + "".join(parts).encode()


def post(client: FlaskClient, boundary: str, stream: CountingStream) -> int:
    response = client.post(
        "/submit",
        input_stream=stream,
        content_type=f'multipart/form-data; boundary="{boundary}"',
        content_length=len(stream.getvalue()),
    )
    return response.status_code


@pytest.fixture
def token(client: FlaskClient) -> str:
    new_source(client)
    return submit_token(client)


@pytest.mark.parametrize(
    "boundary", ["b", "a" * 70, "----WebKitFormBoundary7MA4YWxkTrZu0gW", "x'()+_,-./:=? y"]
)
def test_boundaries_rfc_2046_allows_are_accepted(client: FlaskClient, token: str, boundary: str) -> None:
    assert post(client, boundary, CountingStream(body(boundary, token))) == 303


@pytest.mark.parametrize("boundary", ["a" * 71, "a" * 8000, "ends-in-space ", "semi;colon", "quote\\x", "é"])
def test_a_boundary_rfc_2046_forbids_is_refused_before_the_body_is_read(
    client: FlaskClient, token: str, data_dir: Path, boundary: str
) -> None:
    stream = CountingStream(body(boundary, token, preamble=b"p" * 256 * 1024))
    assert post(client, boundary, stream) == 400
    assert stream.read_bytes == 0
    assert stored_files(data_dir) == []


def test_a_long_preamble_is_refused_after_a_bounded_read(
    client: FlaskClient, token: str, data_dir: Path
) -> None:
    boundary = "a" * 70
    stream = CountingStream(body(boundary, token, preamble=b"p" * 256 * 1024))
    assert post(client, boundary, stream) == 400
    assert stream.read_bytes <= MAX_HEAD_BYTES
    assert stored_files(data_dir) == []


def test_a_short_preamble_is_still_accepted(client: FlaskClient, token: str) -> None:
    boundary = "a" * 70
    assert post(client, boundary, CountingStream(body(boundary, token, preamble=b"ignore me\r\n"))) == 303
