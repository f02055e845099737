"""Fixtures for the journeys across the air gap and back (replies, acknowledgements, retention):
an intake made by `tamga-intake init` that seals to the test's station and pins its signing key,
and that the station pins in turn.

The station itself is tests/conftest.py's; the drivers are tests/support/station.py's and
tests/support/intake.py's (each source of an intake has its own test client, so its own cookies).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.intake import Intake, init_intake
from tests.support.station import Station


@pytest.fixture
def intake(tmp_path: Path, station: Station) -> Iterator[Intake]:
    """An intake sealing to `station` and pinning its signing key; the station pins the intake."""
    made = init_intake(tmp_path / "intake", station, station.signing_key())
    station.ok("trust-server", made.server_key())
    yield made
    made.close()
