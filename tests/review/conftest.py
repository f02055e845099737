"""Fixtures for the import across the air gap: an intake sealing to the test's station.

The station itself (`station`, its templates, the session's unlock cache) is tests/conftest.py's;
the drivers are tests/support/station.py's and tests/support/intake.py's.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.intake import Intake, make_intake, pin
from tests.support.station import Station


@pytest.fixture
def intake(tmp_path: Path, station: Station) -> Iterator[Intake]:
    """An intake sealing to `station`, whose signing key the station has pinned."""
    made = make_intake(tmp_path / "intake", [station.recipient])
    pin(station, made)
    yield made
    made.close()
