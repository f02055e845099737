"""tamga-review loads a command's modules with the garbage collector off, then turns it back on.

Left off, a long-running command (`serve`) would never free a reference cycle; so each case runs
in a fresh interpreter, where nothing is loaded or frozen yet, and asks what the collector does.
"""

import subprocess
import sys

from tests.support.worker import REPO

PROBE = """
import gc, click
from review import cli
context = click.Context(cli.cli)
assert gc.isenabled() and gc.get_freeze_count() == 0
{action}
print(gc.isenabled(), gc.get_freeze_count() > 0)
class Cycle:
    pass
cycle = Cycle()
cycle.me = cycle
del cycle
print(gc.collect() > 0)
"""


def probe(action: str) -> list[str]:
    code = PROBE.format(action=action)
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return run.stdout.split()


def test_a_loaded_command_leaves_the_collector_on_and_its_modules_frozen() -> None:
    assert probe("assert cli.cli.get_command(context, 'import') is not None") == ["True", "True", "True"]


def test_a_command_whose_module_fails_to_load_still_leaves_the_collector_on() -> None:
    action = (
        "cli.COMMANDS['broken'] = 'review.no_such_module:command'\n"
        "try:\n    cli.cli.get_command(context, 'broken')\nexcept ImportError:\n    pass\n"
        "else:\n    raise SystemExit('loaded a module that does not exist')"
    )
    assert probe(action) == ["True", "True", "True"]
