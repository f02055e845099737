"""The intake side of the air gap: a submission through the app's Flask test client, and what
`tamga-intake export` reports it wrote. The source's journey itself (first visit, tokens, the
submit form) is tests/intake/conftest.py's."""

import re
from collections.abc import Sequence
from pathlib import Path

from click.testing import Result
from flask.testing import FlaskClient

from tests.intake.conftest import FileSpec, post_submission, submit_token


def submit_form(client: FlaskClient, message: str = "", files: Sequence[FileSpec] = ()) -> None:
    """One submission by the source logged in on `client`, as a browser without JavaScript sends it."""
    response = post_submission(client, submit_token(client), message, files)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def exported(result: Result) -> list[tuple[Path, int]]:
    """(bundle, envelope count) for each line `tamga-intake export` printed."""
    written = []
    for line in result.stdout.splitlines():
        match = re.fullmatch(r"(.+): (\d+) envelope\(s\)", line)
        assert match, line
        written.append((Path(match.group(1)), int(match.group(2))))
    return written
