"""Every command and subcommand of both CLIs has --help, with an example a person can copy."""

from collections.abc import Iterator

import click
import pytest

from review.cli import cli as review_cli
from submission.cli import cli as intake_cli
from tests.support.station import assert_refused, invoke


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under command, groups included, hidden ones too."""
    yield path
    if isinstance(command, click.Group):  # asked as click asks: tamga-review loads commands lazily
        context = click.Context(command)
        for name in command.list_commands(context):
            subcommand = command.get_command(context, name)
            assert subcommand is not None, name
            yield from walk(subcommand, (*path, name))


REVIEW = list(walk(review_cli))
INTAKE = list(walk(intake_cli))


def check_help(output: str, program: str, path: tuple[str, ...]) -> None:
    """An Example: paragraph that runs this program with this very command."""
    lines = output.splitlines()
    starts = [n for n, line in enumerate(lines) if line.strip().startswith("Example:")]
    assert starts, f"{program} {' '.join(path)} --help has no Example: line"
    paragraph = []
    for line in lines[starts[0] :]:
        if not line.strip():
            break
        paragraph.append(line.strip())
    example = " ".join(paragraph).split()
    assert program in example, paragraph
    position = example.index(program) + 1
    for word in path:
        assert word in example[position:], f"{paragraph} does not show {' '.join(path)}"
        position = example.index(word, position) + 1


def test_the_walk_finds_the_commands() -> None:
    assert {p for p in REVIEW if p} >= {
        ("init",),
        ("pubkey",),
        ("trust-server",),
        ("import",),
        ("list",),
        ("show",),
        ("extract",),
        ("custody",),
        ("custody", "verify"),
        ("custody", "head"),
        ("custody", "show"),
    }
    assert {p for p in INTAKE if p} >= {("init",), ("server-key",), ("serve",), ("export",)}


@pytest.mark.parametrize("path", REVIEW, ids=lambda p: " ".join(p) or "tamga-review")
def test_review_help(path: tuple[str, ...]) -> None:
    result = invoke(review_cli, ["--station", "/nonexistent/station", *path, "--help"])
    assert result.exit_code == 0, result.output
    check_help(result.stdout, "tamga-review", path)


@pytest.mark.parametrize("path", INTAKE, ids=lambda p: " ".join(p) or "tamga-intake")
def test_intake_help(path: tuple[str, ...]) -> None:
    result = invoke(intake_cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    check_help(result.stdout, "tamga-intake", path)


def test_review_subcommand_help_without_a_station() -> None:
    """Help needs no station; a command that does need one says so in one line."""
    result = invoke(review_cli, ["import", "--help"], env={"TAMGA_STATION": None})
    assert result.exit_code == 0, result.output
    check_help(result.stdout, "tamga-review", ("import",))
    assert_refused(invoke(review_cli, ["list"], env={"TAMGA_STATION": None}), "station")
