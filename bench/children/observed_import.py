"""`tamga-review ARGS` in-process, its memory observed; writes {"hwm", "after_unlock"} to REPORT.

    python -m bench.children.observed_import REPORT ARGS...

VmHWM of the whole process, and the peak VmRSS sampled every 5 ms once the station's keys are
unlocked (scrypt at 2^18 needs 256 MiB by design; that memory is freed when the derivation ends).
Observation only: unlock is wrapped to set a flag, nothing else changes. Run by bench/review.py.
"""

import atexit
import json
import sys
import threading
import time
from collections.abc import Callable

from bench.proc import own_status
from review import station
from review.cli import main as review_main

SAMPLE_SECONDS = 0.005


class Observer:
    """Peak VmRSS once unlocked, sampled by a daemon thread; VmHWM written at exit."""

    def __init__(self, report: str) -> None:
        self.report = report
        self.unlocked = False
        self.after = 0

    def sample(self) -> None:
        while True:
            if self.unlocked:
                self.after = max(self.after, own_status("VmRSS"))
            time.sleep(SAMPLE_SECONDS)

    def write(self) -> None:
        with open(self.report, "w") as f:
            json.dump({"hwm": own_status("VmHWM"), "after_unlock": self.after}, f)


def main() -> None:
    report, sys.argv = sys.argv[1], ["tamga-review", *sys.argv[2:]]
    observer = Observer(report)
    real_unlock = station.Station.unlock

    def unlock(self: station.Station, passphrase: Callable[[], str]) -> station.Keys:
        keys = real_unlock(self, passphrase)
        observer.unlocked = True
        return keys

    station.Station.unlock = unlock  # type: ignore[method-assign]
    threading.Thread(target=observer.sample, daemon=True).start()
    atexit.register(observer.write)
    review_main()


if __name__ == "__main__":
    main()
