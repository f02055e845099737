"""Media facts from hostile files, read in a separate, fresh, unprivileged process.

The station decrypts an item to a private temporary copy (a neutral name, mode 0600) and runs
review/probe_worker.py with exec (never a bare fork: no key material is copied), an empty
environment (no passphrase), resource limits it sets before opening the file, its own session,
and a timeout. A probe that fails, times out or is killed leaves the item `unparsed`.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 30
IDENTIFYING = ("gps", "device_serial", "owner_name")


@dataclass
class Facts:
    status: str  # ok | unparsed | skipped
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def identifying(self) -> list[str]:
        """Which identifying details the file carries: they could expose the source."""
        return [key for key in IDENTIFYING if self.values.get(key)]


def worth_probing(media_type: str) -> bool:
    return media_type.split("/")[0] in ("image", "video", "audio") or media_type == "application/ogg"


def probe(path: Path, timeout: float = TIMEOUT_SECONDS) -> Facts:
    ffprobe = shutil.which("ffprobe") or ""
    command = [sys.executable, "-I", "-m", "review.probe_worker", str(path), ffprobe]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            close_fds=True,
            start_new_session=True,
            cwd=str(path.parent),
        )
    except OSError:
        return Facts("unparsed")
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return Facts("unparsed", {"error": "timed out"})
    if process.returncode != 0:
        return Facts("unparsed", {"error": f"probe failed ({process.returncode})"})
    try:
        values = json.loads(output[: 1024 * 1024])
    except (ValueError, RecursionError):
        return Facts("unparsed", {"error": "probe output unreadable"})
    if not isinstance(values, dict):
        return Facts("unparsed")
    return Facts("skipped" if "skipped" in values else "ok", values)
