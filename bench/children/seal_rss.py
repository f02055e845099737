"""Seal or open one file with Tamga, then print the process's VmRSS after imports and its VmHWM.

    python -m bench.children.seal_rss seal|open KEY_FILE SRC DST

Run by bench/seal.py for its peak-RSS figures; prints one JSON object: {"baseline", "peak"} bytes.
"""

import json
import sys

from bench.proc import own_status
from crypto import X25519Identity, open_stream, seal_stream


def main() -> None:
    mode, key_path, src_path, dst_path = sys.argv[1:5]
    with open(key_path) as f:
        identity = X25519Identity.parse(f.read())
    baseline = own_status("VmRSS")
    with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
        if mode == "seal":
            seal_stream(src, dst, [identity.recipient])
        else:
            open_stream(src, dst, [identity])
    print(json.dumps({"baseline": baseline, "peak": own_status("VmHWM")}))


if __name__ == "__main__":
    main()
