"""The floor of an import: copy each file of a directory, hashing it in the same pass, and fsync.

    python -m bench.children.floor SRC_DIR DST_DIR

Run by bench/review.py; prints one JSON object: {"seconds", "bytes", "files", "hwm"}.

Blocks of 256 KiB: on the bench VM an aligned 1 MiB write(2) into the page cache took twice the
kernel time of 256 KiB ones (bench/writes.py), which made this floor slower than a plain copy
(cp reads and writes 128 KiB) and flattered the import.
"""

import hashlib
import json
import os
import sys
import time

from bench.proc import own_status


def main() -> None:
    src_dir, dst_dir = sys.argv[1:3]
    names = sorted(os.listdir(src_dir))
    start = time.perf_counter()
    total = 0
    block_size = 256 * 1024
    for name in names:
        digest = hashlib.sha256()
        with open(os.path.join(src_dir, name), "rb") as src, open(os.path.join(dst_dir, name), "wb") as dst:
            while block := src.read(block_size):
                digest.update(block)
                dst.write(block)
                total += len(block)
            dst.flush()
            os.fsync(dst.fileno())
    fd = os.open(dst_dir, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "bytes": total, "files": len(names), "hwm": own_status("VmHWM")}))


if __name__ == "__main__":
    main()
