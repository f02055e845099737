"""crypto.overlap.second_core_idle(): the runnable count of this instant decides, not the load average."""

import dataclasses
from collections.abc import Iterator

import pytest

from crypto import overlap


@dataclasses.dataclass
class Machine:
    """A fake machine: its cores, the runnable counts its snapshots give, its load average, its clock."""

    cpus: int = 2
    counts: list[int] = dataclasses.field(default_factory=lambda: [1, 1, 1])
    load: float = 0.0
    now: float = 100.0
    reads: int = 0

    def runnable(self) -> int:
        self.reads += 1
        return self.counts[(self.reads - 1) % len(self.counts)]


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    fake = Machine()
    monkeypatch.setattr(overlap, "_decided", None)
    monkeypatch.setattr(overlap, "_runnable", fake.runnable)
    monkeypatch.setattr(overlap.os, "sched_getaffinity", lambda _: set(range(fake.cpus)))
    monkeypatch.setattr(overlap.os, "getloadavg", lambda: (fake.load, 0.0, 0.0))
    monkeypatch.setattr(overlap.time, "monotonic", lambda: fake.now)
    monkeypatch.setattr(overlap.time, "sleep", lambda _: None)
    yield fake


def test_idle_when_the_caller_is_the_only_runnable_thread(machine: Machine) -> None:
    machine.load = 5.0  # a minute of past work does not count
    assert overlap.second_core_idle() is True


def test_busy_when_another_thread_runs_now(machine: Machine) -> None:
    machine.counts = [2, 2, 3]
    assert overlap.second_core_idle() is False


def test_one_blip_among_the_snapshots_decides_nothing(machine: Machine) -> None:
    machine.counts = [1, 4, 1]
    assert overlap.second_core_idle() is True
    overlap._decided = None
    machine.counts = [2, 1, 2]
    assert overlap.second_core_idle() is False


def test_one_core_never_overlaps(machine: Machine) -> None:
    machine.cpus = 1
    assert overlap.second_core_idle() is False
    assert machine.reads == 0


def test_without_proc_loadavg_the_load_average_stands_in(machine: Machine) -> None:
    machine.counts = [-1]
    machine.load = 0.5
    assert overlap.second_core_idle() is True
    overlap._decided = None
    machine.load = 1.5
    assert overlap.second_core_idle() is False


def test_the_answer_is_kept_for_a_second_then_asked_again(machine: Machine) -> None:
    assert overlap.second_core_idle() is True
    reads = machine.reads
    machine.counts = [3, 3, 3]
    machine.now = 100.9
    assert overlap.second_core_idle() is True
    assert machine.reads == reads
    machine.now = 101.1
    assert overlap.second_core_idle() is False


def test_the_real_count_reads_from_proc() -> None:
    """On this Linux machine the count is real: at least this thread runs."""
    counts = [overlap._runnable() for _ in range(3)]
    assert all(count >= 1 for count in counts)
