"""Retention: `tamga-intake purge --older-than DAYS` removes exactly what it should, and says so.

Days are set in the database directly (the intake records days only): with N = 30 the cut-off is
today - 30, and "older than" means strictly before it, so a row from exactly 30 days ago stays.
"""

import configparser
import datetime
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from submission.cli import cli as intake_cli
from submission.models import today
from tests.support.forms import csrf_token
from tests.support.intake import Intake, Source, deliver
from tests.support.station import Station, assert_ok, invoke

REPO = Path(__file__).resolve().parents[2]
TODAY = today()


def days_ago(n: int) -> str:
    return (TODAY - datetime.timedelta(days=n)).isoformat()


@dataclass
class World:
    """Five sources with submissions and replies at controlled days (see `world`)."""

    intake: Intake
    sources: dict[str, Source]
    submissions: dict[str, str]  # label -> submission id
    replies: dict[str, tuple[str, str]]  # source label -> (reply id, storage name at import)

    def submission_ids(self) -> set[str]:
        return {row[0] for row in self.intake.query("SELECT id FROM submissions")}

    def source_ids(self) -> set[str]:
        return {row[0] for row in self.intake.query("SELECT id FROM sources")}

    def reply_ids(self) -> set[str]:
        return {row[0] for row in self.intake.query("SELECT id FROM replies")}

    def labels(self, ids: set[str], mapping: dict[str, str]) -> set[str]:
        return {label for label, value in mapping.items() if value in ids}


@pytest.fixture
def world(tmp_path: Path, station: Station, intake: Intake) -> World:
    """
    source  submission (day, acknowledged)              reply (day, state)
    A       a-old (40, yes), a-edge (30, yes)           (40, unread)
    B       b (40, yes)                                 (40, unread)
    C       c-acked (31, yes), c-waiting (40, NO: 3)    (1, deleted by the source)
    D       d (40, yes)                                 (30, unread)
    E       e-waiting (5, NO: 1 envelope)               none
    """
    sources = {label: intake.new_source() for label in "ABCDE"}
    submissions = {
        "a-old": intake.submit_as(sources["A"], "A, long ago"),
        "a-edge": intake.submit_as(sources["A"], "A, exactly thirty days ago"),
        "b": intake.submit_as(sources["B"], "B"),
        "c-acked": intake.submit_as(sources["C"], "C, collected"),
        "d": intake.submit_as(sources["D"], "D"),
    }
    deliver(station, intake, tmp_path / "tamga.tar")
    for label in "ABCD":
        station.reply(station.item_of(sources[label].id), f"A question for source {label}.")
    # Sent after the USB stick left: never acknowledged.
    submissions["c-waiting"] = intake.submit_as(
        sources["C"], "C, not yet collected", [(b"%PDF-1.4 waiting", "w.pdf", "application/pdf")]
    )
    submissions["e-waiting"] = intake.submit_as(sources["E"], "E, not yet collected")
    assert station.export_outbox(tmp_path / "outbox.tar") == (4, 5)
    assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
    replies = {
        label: next(
            (rid, name)
            for rid, name in intake.query(
                "SELECT id, storage_name FROM replies WHERE source_id = ?", (sources[label].id,)
            )
        )
        for label in "ABCD"
    }
    # C deletes its reply through the page (the file is shredded now; the row waits for purge).
    client, page = intake.log_in(sources["C"].codename)
    response = client.post(f"/replies/{replies['C'][0]}/delete", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303

    for label, age in {
        "a-old": 40,
        "a-edge": 30,
        "b": 40,
        "c-acked": 31,
        "c-waiting": 40,
        "d": 40,
        "e-waiting": 5,
    }.items():
        intake.execute("UPDATE submissions SET day = ? WHERE id = ?", (days_ago(age), submissions[label]))
    for label, age in {"A": 40, "B": 40, "C": 1, "D": 30}.items():
        intake.execute("UPDATE replies SET day = ? WHERE id = ?", (days_ago(age), replies[label][0]))

    acknowledged = dict(intake.query("SELECT id, acknowledged FROM submissions"))
    assert {label for label, sid in submissions.items() if acknowledged[sid]} == {
        "a-old",
        "a-edge",
        "b",
        "c-acked",
        "d",
    }
    assert len(intake.envelope_files()) == 4  # c-waiting: message, file, metadata; e-waiting: message
    return World(intake, sources, submissions, replies)


def purge(intake: Intake, *args: str) -> tuple[list[str], str]:
    result = assert_ok(intake.run("purge", *args))
    return result.stdout.strip().splitlines(), result.stderr.strip()


def test_purge_removes_exactly_what_is_old_or_deleted_and_reports_it(world: World) -> None:
    intake = world.intake
    store_before = intake.store_files()
    waiting_files = set(intake.envelope_files())
    by_label = {label: source.id for label, source in world.sources.items()}

    out, err = purge(intake, "--older-than", "30")
    assert out == [
        "removed 4 acknowledged submission(s), 3 reply(ies), 1 source(s)",
        "kept 3 unacknowledged envelope(s) older than 30 days (export them, or use --include-unacknowledged)",
    ]
    assert err == ""
    assert world.labels(world.submission_ids(), world.submissions) == {"a-edge", "c-waiting", "e-waiting"}
    assert world.labels(world.source_ids(), by_label) == {"A", "C", "D", "E"}
    assert world.reply_ids() == {world.replies["D"][0]}
    # Files: the old replies are shredded, the kept reply and every unacknowledged envelope stay.
    store = intake.store_files()
    for label in "AB":
        assert world.replies[label][1] not in store
    assert world.replies["C"][1] not in store  # shredded when the source deleted it
    assert set(store) == waiting_files | {world.replies["D"][1]}
    assert {name: store_before[name] for name in store} == store
    assert list(intake.store.glob("*.part")) == []

    # D still reads its reply; A's page still lists its kept submission as having arrived.
    _, page = intake.log_in(world.sources["D"].codename)
    assert "A question for source D." in page
    _, page = intake.log_in(world.sources["A"].codename)
    assert page.count("reached the reviewers") == 1
    assert f"A submission on {days_ago(30)}" in page

    # B has nothing left: its codename opens nothing any more.
    client = intake.app.test_client()
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "codename": world.sources["B"].codename})
    assert response.status_code == 403

    # The same run again removes nothing and reports the same waiting envelopes.
    out, err = purge(intake, "--older-than", "30")
    assert out == [
        "removed 0 acknowledged submission(s), 0 reply(ies), 0 source(s)",
        "kept 3 unacknowledged envelope(s) older than 30 days (export them, or use --include-unacknowledged)",
    ]
    assert err == ""

    # Only when asked: the unacknowledged envelopes go too, with a warning.
    out, err = purge(intake, "--older-than", "30", "--include-unacknowledged")
    assert err == "warning: deleting 3 envelope(s) the reviewers have not acknowledged"
    assert out == [
        "removed 0 acknowledged submission(s), 0 reply(ies), 1 source(s)",
        "removed 1 unacknowledged submission(s) (3 envelope(s))",
    ]
    assert world.labels(world.submission_ids(), world.submissions) == {"a-edge", "e-waiting"}
    assert world.labels(world.source_ids(), by_label) == {"A", "D", "E"}
    e_files = {
        name
        for (name,) in intake.query(
            "SELECT storage_name FROM envelopes WHERE submission_id = ?", (world.submissions["e-waiting"],)
        )
    }
    assert len(e_files) == 1
    assert set(intake.store_files()) == e_files | {world.replies["D"][1]}
    assert intake.query("SELECT count(*) FROM envelopes") == [(1,)]


def test_include_unacknowledged_in_one_go(world: World) -> None:
    """Both at once: every count exact, the warning on stderr only."""
    intake = world.intake
    out, err = purge(intake, "--older-than", "30", "--include-unacknowledged")
    assert err == "warning: deleting 3 envelope(s) the reviewers have not acknowledged"
    # Sources: B (nothing left) and C (its waiting submission and deleted reply gone).
    assert out == [
        "removed 4 acknowledged submission(s), 3 reply(ies), 2 source(s)",
        "removed 1 unacknowledged submission(s) (3 envelope(s))",
    ]
    assert world.labels(world.submission_ids(), world.submissions) == {"a-edge", "e-waiting"}
    assert intake.query("SELECT count(*) FROM envelopes") == [(1,)]
    assert len(intake.store_files()) == 2  # e-waiting's envelope and D's reply


def test_a_shorter_period_removes_more_and_nothing_waiting_means_no_warning(world: World) -> None:
    intake = world.intake
    # With 3 days: every acknowledged submission and every reply but none from the last 3 days.
    out, err = purge(intake, "--older-than", "3")
    assert out == [
        "removed 5 acknowledged submission(s), 4 reply(ies), 3 source(s)",
        "kept 4 unacknowledged envelope(s) older than 3 days (export them, or use --include-unacknowledged)",
    ]
    assert err == ""
    assert world.labels(world.submission_ids(), world.submissions) == {"c-waiting", "e-waiting"}
    # With 60 days nothing is old enough: no warning even with the flag.
    out, err = purge(intake, "--older-than", "60", "--include-unacknowledged")
    assert err == ""
    assert out == [
        "removed 0 acknowledged submission(s), 0 reply(ies), 0 source(s)",
        "removed 0 unacknowledged submission(s) (0 envelope(s))",
    ]
    assert len(intake.envelope_files()) == 4


def test_purge_refuses_a_negative_or_missing_period(intake: Intake) -> None:
    source = intake.new_source()
    intake.submit_as(source, "kept")
    before = intake.snapshot()
    assert intake.run("purge", "--older-than", "-1").exit_code == 2
    assert intake.run("purge").exit_code == 2
    assert intake.snapshot() == before


def test_the_deploy_units_run_purge_daily(tmp_path: Path, station: Station, intake: Intake) -> None:
    timer = configparser.ConfigParser(interpolation=None, strict=False)
    timer.read_string((REPO / "deploy" / "tamga-purge.timer").read_text())
    service = configparser.ConfigParser(interpolation=None, strict=False)
    service.read_string((REPO / "deploy" / "tamga-purge.service").read_text())
    assert timer["Timer"]["OnCalendar"] == "daily"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert timer["Timer"].get("Unit", "tamga-purge.service") == "tamga-purge.service"
    assert service["Service"]["Type"] == "oneshot"
    argv = shlex.split(service["Service"]["ExecStart"])
    assert Path(argv[0]).name == "tamga-intake"
    assert argv[1] == "purge"
    assert "--older-than" in argv and "--data-dir" in argv
    assert "--include-unacknowledged" not in argv
    days = argv[argv.index("--older-than") + 1]
    assert days == "30"
    assert "--older-than 30" in (REPO / "docs" / "operators.md").read_text()
    # The unit's command line is one our CLI accepts (run against a test data directory).
    args = argv[1:]
    args[args.index("--data-dir") + 1] = str(intake.root)
    result = assert_ok(invoke(intake_cli, args))
    assert result.stdout.startswith("removed 0 acknowledged submission(s)")
