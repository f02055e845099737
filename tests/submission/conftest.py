"""Fixtures of the intake suites beyond tests/conftest.py's app and client: a real server."""

from collections.abc import Iterator

import pytest

from tests.support.live import LiveIntake, running_intake


@pytest.fixture(scope="module")
def live_intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    """One real `tamga-intake serve` per test module."""
    with running_intake(tmp_path_factory.mktemp("live")) as intake:
        yield intake
