"""Fixtures of the intake suites beyond tests/conftest.py's app and client: a real server, browsers."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import Browsers
from tests.support.live import LiveIntake, running_intake


@pytest.fixture(scope="module")
def live_intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    """One real `tamga-intake serve` per test module."""
    with running_intake(tmp_path_factory.mktemp("live")) as intake:
        yield intake


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Browsers]:
    """Headless Chromiums, each with a fresh profile (JavaScript off unless started with it); all
    quit afterwards."""
    started = Browsers(tmp_path)
    yield started
    started.quit_all()
