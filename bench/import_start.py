"""The station import's fixed cost, taken apart: each part that `tamga-review import` pays before
its first envelope, timed alone in a fresh process.

Run from the repository root:

    .venv/bin/python bench/import_start.py              # 5 rounds
    .venv/bin/python bench/import_start.py --rounds 9

It prints numbers only, never a verdict. bench/review.py measures the whole fixed cost (an import
of an empty bundle); this says what it is made of:

* the interpreter's start (`python -c pass`);
* loading `review.cli` (what every tamga-review command loads) and `review.importer` (what the
  import loads besides: SQLAlchemy and the catalogue), the latter also as the command loads it,
  with the garbage collector off and what it loaded frozen (review/cli_support.loading_modules);
* the identity's unlock: scrypt at work factor 2^18 (crypto/scrypt.py, through PyNaCl's
  libsodium), and for comparison the same derivation through hashlib (OpenSSL).

Each runs in a child timed from spawn to exit, wall and CPU (user, system) from os.wait4; the
cases run round-robin, `sync` and 0.3 s before each. The import runs the unlock on a thread
beside the module loads (review/cli_import.py), so its fixed cost is about the start plus the
longer of the two.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.seal import round_robin  # noqa: E402 (after the path is set)

SCRYPT = "import crypto.scrypt as s; s._derive(b'p' * 16, b's' * 16, s.DEFAULT_WORK_FACTOR)"
OPENSSL = (
    "import hashlib; hashlib.scrypt(b'p' * 16, salt=b's' * 16, n=2**18, r=8, p=1, maxmem=2**29, dklen=32)"
)
LOADING = "from review.cli_support import loading_modules as off\nwith off():\n    import review.importer"
CASES = {
    "interpreter start (python -c pass)": "pass",
    "load review.cli": "import review.cli",
    "load review.importer": "import review.importer",
    "load review.importer, collector off, frozen": LOADING,
    "scrypt 2^18 through PyNaCl (the unlock)": SCRYPT,
    "scrypt 2^18 through hashlib (OpenSSL)": OPENSSL,
}


def timed_child(code: str) -> tuple[float, float, float]:
    """Wall, user and system seconds of `python -c code` with this tree on its path."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if status:
        raise SystemExit(f"the child failed: python -c {code!r}")
    return wall, usage.ru_utime, usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} (1 min)")
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in CASES}
    for name in round_robin(list(CASES), args.rounds):
        os.sync()
        time.sleep(0.3)
        runs[name].append(timed_child(CASES[name]))
    print(f"median of {args.rounds}, seconds:")
    for name, figures in runs.items():
        wall, user, system = (statistics.median(f[i] for f in figures) for i in range(3))
        each = " ".join(f"{f[0]:.2f}" for f in figures)
        print(f"  {name:<44} wall {wall:5.2f}, user {user:5.2f}, system {system:5.2f} (each wall: {each})")


if __name__ == "__main__":
    main()
