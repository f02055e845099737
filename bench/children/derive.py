"""One codename derivation (Argon2id, 64 MiB): its wall time, VmRSS after imports and VmHWM.

    python -m bench.children.derive

Run by bench/intake.py, part (d); prints one JSON object: {"seconds", "baseline", "peak"}.
"""

import json
import os
import time

from bench.proc import own_status
from crypto.codename import SALT_SIZE, derive_reply_identity

CODENAME = "tranquil bankbook mold defendant settle dweeb coastland"


def main() -> None:
    baseline = own_status("VmRSS")
    start = time.perf_counter()
    derive_reply_identity(CODENAME, os.urandom(SALT_SIZE))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "baseline": baseline, "peak": own_status("VmHWM")}))


if __name__ == "__main__":
    main()
