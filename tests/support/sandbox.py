"""Run this tree's sandbox worker in the tests, not the installed package's.

The sandbox runs `python -I -m review.probe_worker`, and `-I` imports `review` from wherever the
virtualenv installed it. this_tree_worker() points `sys.executable` at a stand-in that puts this
tree first on sys.path and runs the same module, still isolated (-I) and with the empty
environment the parent gives it, so the worker under test is the one beside the tests.
"""

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def this_tree_worker(directory: Path) -> Iterator[Path]:
    """While it lasts, review/media.py starts the worker of this tree; yields the stand-in's path."""
    script = directory / "python"
    script.write_text(
        f"#!{sys.executable} -I\n"
        "import runpy, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "assert sys.argv[1:4] == ['-I', '-m', 'review.probe_worker'], sys.argv\n"
        "sys.argv = [sys.argv[3], *sys.argv[4:]]\n"
        "runpy.run_module('review.probe_worker', run_name='__main__', alter_sys=True)\n",
        encoding="utf-8",
    )
    script.chmod(0o700)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "executable", str(script))
        yield script
