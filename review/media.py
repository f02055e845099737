"""Media facts from hostile files: the type sniffed from the bytes, and the parent side of the probe.

The station decrypts an item to a private temporary copy (a neutral name, mode 0600) and runs
review/probe_worker.py with exec (never a bare fork: no key material is copied), an empty
environment (no passphrase), resource limits it sets before opening the file, its own session,
and a timeout. A probe that fails, times out or is killed leaves the item `unparsed`.

The same worker makes working copies (derive()). It imports this module for sniff(): keep its
imports to the standard library (review.errors imports nothing).
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:  # only a type: the worker process imports nothing beyond the standard library
    from review.pipeline import Runner

from review.errors import ReviewError

TIMEOUT_SECONDS = 30
_BATCH = 16  # chunks of 64 KiB handed to the worker at once
IDENTIFYING = ("gps", "device_serial", "owner_name")


@dataclass
class Facts:
    status: str  # ok | unparsed | skipped
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def identifying(self) -> list[str]:
        """Which identifying details the file carries: they could expose the source."""
        return [key for key in IDENTIFYING if self.values.get(key)]


_SIGNATURES: list[tuple[int, bytes, str]] = [
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"BM", "image/bmp"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x1a\x45\xdf\xa3", "video/x-matroska"),
    (0, b"OggS", "application/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"PK\x03\x04", "application/zip"),
]


def sniff(head: bytes) -> str:
    """The media type from the file's first bytes, never from its name."""
    for offset, magic, kind in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:4] == b"RIFF":
        return {b"WEBP": "image/webp", b"AVI ": "video/x-msvideo", b"WAVE": "audio/wav"}.get(
            head[8:12], "application/octet-stream"
        )
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if b"\x00" not in head[:1024]:
        try:
            head[:1024].decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            pass
    return "application/octet-stream"


def family(media_type: str) -> str | None:
    """Which probe reads this type: "image" (Pillow), "av" (ffprobe), or None (not probed)."""
    if media_type.startswith("image/"):
        return "image"
    if media_type.split("/")[0] in ("video", "audio") or media_type == "application/ogg":
        return "av"
    return None


@dataclass(frozen=True)
class Content:
    """What opening an item found: the plaintext's SHA-256 and size, and a file's media facts."""

    sha256: str
    size: int
    facts: Facts | None  # None for a message: messages are never probed


@dataclass(frozen=True)
class Measured:
    """Plaintext read through: its SHA-256, size and sniffed type, and whether it was copied to probe."""

    sha256: str
    size: int
    media_type: str
    copied: bool


def measure(
    chunks: Iterable[bytes], copy: tuple[BinaryIO, Path] | None, worker: "Runner | None" = None
) -> Measured:
    """Hash and measure plaintext as it is decrypted; a file's media (sniffed) is copied to `copy`.

    With a worker, hashing and copying run on its thread while the caller decrypts the next chunk.
    Warning: `copy` receives plaintext.
    """
    digest, size, media_type, copying = hashlib.sha256(), 0, "application/octet-stream", False
    target = copy[0] if copy is not None else None
    batch: list[bytes] = []
    for chunk in chunks:
        if size == 0:
            media_type = sniff(chunk[:4096])
            copying = target is not None and family(media_type) is not None
        size += len(chunk)
        batch.append(chunk)
        if len(batch) == _BATCH:
            _consume(digest, target if copying else None, batch, worker)
            batch = []
    _consume(digest, target if copying else None, batch, worker)
    if worker is not None:
        worker.wait()
    return Measured(digest.hexdigest(), size, media_type, copying)


def _consume(digest: Any, target: BinaryIO | None, batch: list[bytes], worker: "Runner | None") -> None:
    """Hash (and copy) a batch of chunks, on the worker if there is one: one hand-over per MiB."""
    if worker is not None:
        worker.submit(_consume, digest, target, batch, None)
        return
    for chunk in batch:
        digest.update(chunk)
        if target is not None:
            target.write(chunk)


def conclude(measured: Measured, copy: tuple[BinaryIO, Path] | None) -> Content:
    """The item's content facts; a copied file is probed. Call only once its envelope verified."""
    if copy is None:
        return Content(measured.sha256, measured.size, None)
    copy[0].close()
    facts = probe(copy[1]) if measured.copied else Facts("ok")
    facts.values.setdefault("media_type", measured.media_type)
    return Content(measured.sha256, measured.size, facts)


def examine(chunks: Iterable[bytes], copy: tuple[BinaryIO, Path] | None) -> Content:
    """measure() then conclude(): for an envelope whose ciphertext was verified before."""
    return conclude(measure(chunks, copy), copy)


class _WorkerFailed(Exception):
    def __init__(self, error: str | None) -> None:
        super().__init__(error)
        self.error = error


def _run_worker(arguments: list[str], cwd: Path, timeout: float) -> dict[str, Any]:
    """Run review/probe_worker.py sandboxed (see the module docstring); its JSON object."""
    command = [sys.executable, "-I", "-m", "review.probe_worker", *arguments]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            close_fds=True,
            start_new_session=True,
            cwd=str(cwd),
        )
    except OSError:
        raise _WorkerFailed(None) from None
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise _WorkerFailed("timed out") from None
    if process.returncode != 0:
        raise _WorkerFailed(f"probe failed ({process.returncode})")
    try:
        values = json.loads(output[: 1024 * 1024])
    except (ValueError, RecursionError):
        raise _WorkerFailed("probe output unreadable") from None
    if not isinstance(values, dict):
        raise _WorkerFailed(None)
    return values


def probe(path: Path, timeout: float = TIMEOUT_SECONDS) -> Facts:
    try:
        values = _run_worker([str(path), shutil.which("ffprobe") or ""], path.parent, timeout)
    except _WorkerFailed as failed:
        return Facts("unparsed", {"error": failed.error} if failed.error else {})
    return Facts("skipped" if "skipped" in values else "ok", values)


# Why the worker would not make a working copy; its output is hostile, so only these are shown.
REFUSALS = {
    "heic": "HEIC images cannot be stripped yet",
    "animated": "animated images cannot be stripped yet",
    "clip-image": "--clip is for video and audio, not images",
    "no-ffmpeg": "ffmpeg is not installed",
    "not-media": "only images, video and audio have working copies",
}


def derive(
    path: Path, copy: Path, strip: bool, clip: tuple[float, float] | None, timeout: float = TIMEOUT_SECONDS
) -> None:
    """Write a working copy of path at copy (same directory) in the sandboxed worker.

    Raises ReviewError with a fixed reason. Warning: both files are plaintext; the caller removes them.
    """
    start, end = (f"{clip[0]:.3f}", f"{clip[1]:.3f}") if clip else ("", "")
    ffmpeg = shutil.which("ffmpeg") or ""
    try:
        values = _run_worker(
            ["--derive", str(path), str(copy), ffmpeg, "1" if strip else "0", start, end],
            path.parent,
            timeout,
        )
    except _WorkerFailed as failed:
        raise ReviewError(
            f"the working copy could not be made: {failed.error or 'the worker failed'}"
        ) from None
    refused = REFUSALS.get(str(values.get("refused")))
    if "refused" in values:
        raise ReviewError(f"the working copy could not be made: {refused or 'refused'}")
    if not copy.is_file() or copy.stat().st_size == 0:
        raise ReviewError("the working copy could not be made: the worker wrote nothing")
