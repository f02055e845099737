"""Issue 11, item 3: a flood of wrong codenames from one session holds one derivation at a time,
and real codenames wait for a slot rather than being refused."""

import threading
from collections.abc import Iterator

import pytest

from tests.support.forms import csrf_token
from tests.support.live import LiveIntake, running_intake
from tests.support.visitor import Visitor

LIMITS = {"max_concurrent_derivations": 2, "derivation_wait_seconds": 60, "max_derivations_per_session": 1}
WRONG = "acid " * 7


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIntake]:
    with running_intake(tmp_path_factory.mktemp("derive"), workers=2, threads=32, limits=LIMITS) as server:
        yield server


def flood(
    server: LiveIntake, threads: int, stop: threading.Event
) -> tuple[list[threading.Thread], list[int]]:
    """`threads` threads sending wrong codenames to POST /login with one cookie and one token."""
    visitor = Visitor(server, timeout=60)
    token = csrf_token(visitor.get("/").text)
    statuses: list[int] = []

    def attack() -> None:
        own = Visitor(server, timeout=60)
        own.cookies = dict(visitor.cookies)
        while not stop.is_set():
            statuses.append(own.post_form("/login", {"csrf_token": token, "codename": WRONG}).status)

    workers = [threading.Thread(target=attack, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    return workers, statuses


def test_a_flood_of_wrong_codenames_from_one_session_leaves_real_codenames_served(intake: LiveIntake) -> None:
    stop = threading.Event()
    workers, attack_statuses = flood(intake, 16, stop)
    try:
        real = []
        for _ in range(6):
            visitor = Visitor(intake, timeout=90)
            landing = visitor.get("/")
            real.append(visitor.post_form("/codename", {"csrf_token": csrf_token(landing.text)}).status)
    finally:
        stop.set()
        for worker in workers:
            worker.join(90)
    assert real == [200] * 6
    assert 403 in attack_statuses  # the flood's derivations did run, one at a time
    assert 503 in attack_statuses  # the rest of the session's requests were refused at once
