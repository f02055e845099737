"""The sandboxed media worker run from this checkout, whatever copy of Tamga the virtualenv installed.

review/media.py starts `sys.executable -I -m review.probe_worker`; isolated mode finds `review` only
through site-packages, whose editable install may point at another checkout of Tamga than the one
under test. `this_trees_worker()` then stands a small script in for the interpreter that runs the
same command with this tree first on sys.path, so a test exercises the worker it ships with.
"""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_RUN = (
    "import runpy, sys; sys.path.insert(0, {repo!r}); "
    "runpy.run_module('review.probe_worker', run_name='__main__', alter_sys=True)"
)


def installed_worker() -> Path:
    found = subprocess.run(
        [sys.executable, "-I", "-c", "import review.probe_worker as w; print(w.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={},
        cwd="/",
    )
    return Path(found.stdout.strip()).resolve()


@contextmanager
def this_trees_worker(tmp_path: Path) -> Iterator[None]:
    if installed_worker() == REPO / "review" / "probe_worker.py":
        yield
        return
    script = tmp_path / "python-for-this-tree"
    script.write_text(
        f"#!{sys.executable}\nimport os, sys\nREAL = {sys.executable!r}\n"
        "assert sys.argv[1:4] == ['-I', '-m', 'review.probe_worker'], sys.argv\n"
        f"os.execv(REAL, [REAL, '-I', '-c', {_RUN.format(repo=str(REPO))!r}, *sys.argv[4:]])\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "executable", str(script))
        yield
