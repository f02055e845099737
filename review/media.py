"""Media facts from hostile files: the type sniffed from the bytes, and the parent side of the sandbox.

The station decrypts an item to a private temporary copy (a neutral name, mode 0600) and runs
review/probe_worker.py with exec (never a bare fork: no key material is copied), an empty
environment (no passphrase), resource limits it sets before opening the file, its own session,
and a timeout. A probe that fails, times out or is killed leaves the item `unparsed`; a render
(image derivative, PDF page, poster frame) that fails raises PreviewUnavailable.

The same worker makes working copies (derive()). It imports this module for sniff(): keep its
imports to the standard library (and review.errors, which has none).
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:  # only types: the worker process imports nothing beyond the standard library
    from review.pipeline import Runner
    from review.vault import LazyCopy

from review.errors import PreviewUnavailable, ReviewError

TIMEOUT_SECONDS = 30
RENDERED_LIMIT = 12 * 1024 * 1024  # the worker refuses to print more (probe_worker.RENDERED_BYTES)
RENDERED_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
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


_EBML = b"\x1a\x45\xdf\xa3"
_WEBM_DOCTYPE = b"\x42\x82\x84webm"  # the DocType element, 4 bytes long: "webm"
_SIGNATURES: list[tuple[int, bytes, str]] = [
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"BM", "image/bmp"),
    (0, b"%PDF-", "application/pdf"),
    (0, _EBML, "video/x-matroska"),
    (0, b"OggS", "application/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"PK\x03\x04", "application/zip"),
]


def sniff(head: bytes) -> str:
    """The media type from the file's first bytes, never from its name."""
    if head[:4] == _EBML and _WEBM_DOCTYPE in head[:64]:
        return "video/webm"  # Matroska whose EBML header names the WebM profile
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


def measure(chunks: Iterable[bytes], copy: "LazyCopy | None", worker: "Runner | None" = None) -> Measured:
    """Hash and measure plaintext as it is decrypted; a file's media (sniffed) is copied to `copy`,
    which is made only then.

    With a worker, hashing and copying run on its thread while the caller decrypts the next chunk.
    Warning: `copy` receives plaintext.
    """
    result = read_through(chunks, copy, worker)
    if worker is not None:
        worker.wait()
    return result()


def read_through(
    chunks: Iterable[bytes], copy: "LazyCopy | None", worker: "Runner | None" = None
) -> Callable[[], Measured]:
    """measure() without waiting for the worker: what it returns gives the Measured once the worker
    has run the calls submitted so far. The import waits once, after its last envelope, instead
    of letting the worker run dry at the end of every one."""
    digest, size, media_type = hashlib.sha256(), 0, "application/octet-stream"
    target: BinaryIO | None = None
    batch: list[bytes] = []
    for chunk in chunks:
        if size == 0:
            media_type = sniff(chunk[:4096])
            if copy is not None and family(media_type) is not None:
                target = copy.file()
        size += len(chunk)
        batch.append(chunk)
        if len(batch) == _BATCH:
            _consume(digest, target, batch, worker)
            batch = []
    _consume(digest, target, batch, worker)
    copied = target is not None
    return lambda: Measured(digest.hexdigest(), size, media_type, copied)


def _consume(digest: Any, target: BinaryIO | None, batch: list[bytes], worker: "Runner | None") -> None:
    """Hash (and copy) a batch of chunks, on the worker if there is one: one hand-over per MiB."""
    if worker is not None:
        worker.submit(_consume, digest, target, batch, None)
        return
    for chunk in batch:
        digest.update(chunk)
        if target is not None:
            target.write(chunk)


def conclude(measured: Measured, copy: "LazyCopy | None") -> Content:
    """The item's content facts; a copied file is probed. Call only once its envelope verified."""
    if copy is None:
        return Content(measured.sha256, measured.size, None)
    copy.close()
    facts = probe(copy.path) if measured.copied else Facts("ok")
    facts.values.setdefault("media_type", measured.media_type)
    return Content(measured.sha256, measured.size, facts)


def examine(chunks: Iterable[bytes], copy: "LazyCopy | None") -> Content:
    """measure() then conclude(): for an envelope whose ciphertext was verified before."""
    return conclude(measure(chunks, copy), copy)


def _run_worker(arguments: list[str], directory: Path, timeout: float) -> tuple[bytes, str | None]:
    """Run the worker on a private copy; its output and None, or what went wrong."""
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
            cwd=str(directory),
        )
    except OSError:
        return b"", "could not start"
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return b"", "timed out"
    if process.returncode != 0:
        return b"", f"failed ({process.returncode})"
    return output, None


def _json_object(output: bytes) -> dict[str, Any] | None:
    """The worker's JSON object, or None when its (hostile) output is not one."""
    try:
        values = json.loads(output[: 1024 * 1024])
    except (ValueError, RecursionError):
        return None
    return values if isinstance(values, dict) else None


def probe(path: Path, timeout: float = TIMEOUT_SECONDS) -> Facts:
    ffprobe = shutil.which("ffprobe") or ""
    output, error = _run_worker([str(path), ffprobe], path.parent, timeout)
    if error == "could not start":
        return Facts("unparsed")
    if error is not None:
        return Facts("unparsed", {"error": error if error == "timed out" else f"probe {error}"})
    values = _json_object(output)
    if values is None:
        return Facts("unparsed", {"error": "probe output unreadable"})
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
    output, error = _run_worker(
        ["--derive", str(path), str(copy), ffmpeg, "1" if strip else "0", start, end], path.parent, timeout
    )
    values = _json_object(output) if error is None else None
    if values is None:
        raise ReviewError(f"the working copy could not be made: {error or 'the worker failed'}")
    refused = REFUSALS.get(str(values.get("refused")))
    if "refused" in values:
        raise ReviewError(f"the working copy could not be made: {refused or 'refused'}")
    if not copy.is_file() or copy.stat().st_size == 0:
        raise ReviewError("the working copy could not be made: the worker wrote nothing")


_TOOLS = {"image": "", "pdf-pages": "pdfinfo", "pdf-page": "pdftoppm", "poster": "ffmpeg"}


def render(operation: str, path: Path, side: int, page: int = 1, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """What the sandbox rendered from the private copy at path: PNG or JPEG bytes, or JSON for
    "pdf-pages". Raises PreviewUnavailable when the tool is missing or the worker fails."""
    tool = _TOOLS[operation]
    found = shutil.which(tool) if tool else ""
    if found is None:
        raise PreviewUnavailable(f"{tool} is not installed on this station")
    output, error = _run_worker(
        ["--render", operation, str(path), found, str(side), str(page)], path.parent, timeout
    )
    if error is not None:
        raise PreviewUnavailable(f"the sandbox could not render this file ({error})")
    if len(output) > RENDERED_LIMIT:
        raise PreviewUnavailable("the rendered image is too large")
    if operation != "pdf-pages" and not any(output.startswith(magic) for magic in RENDERED_TYPES):
        raise PreviewUnavailable("the sandbox returned something that is not an image")
    return output


def rendered_type(data: bytes) -> str:
    """The media type of bytes render() returned."""
    return next(kind for magic, kind in RENDERED_TYPES.items() if data.startswith(magic))
