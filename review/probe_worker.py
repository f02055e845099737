"""The media probe, run as `python -I -m review.probe_worker FILE [FFPROBE]` in a fresh process.

It reads one private temporary copy of a hostile file and prints what the file says about itself
as JSON. Limits are set before the file is opened. It never sees a key or a passphrase: the
parent starts it with exec and an empty environment. Run as `... --derive FILE COPY FFMPEG
STRIP START END`, it writes a working copy (review/derive.py) beside the file instead: metadata
removed and/or a clip cut by stream copy, and prints {} or {"refused": CODE} (media.REFUSALS).
"""

import json
import resource
import subprocess
import sys
from typing import Any

from review.media import family, sniff
from review.netguard import forbid_network

CPU_SECONDS = 20
MEMORY_BYTES = 1024 * 1024 * 1024
OUTPUT_BYTES = 16 * 1024 * 1024
MAX_PIXELS = 80_000_000
SAFE_IMAGE_FORMATS = (
    "JPEG",
    "PNG",
    "GIF",
    "WEBP",
    "TIFF",
    "BMP",
)  # never EPS, PDF or anything Ghostscript reads
# ffprobe demuxers that cannot pull in other files (no HLS, no concat, no playlists).
SAFE_VIDEO_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv,ogg,wav,mp3,asf"


def _limit(output_bytes: int = OUTPUT_BYTES) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (output_bytes, output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def _ratio(value: Any) -> float:
    try:
        return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return 0.0


def _gps(info: dict[int, Any]) -> tuple[float, float] | None:
    try:
        lat = sum(_ratio(v) / 60**i for i, v in enumerate(info[2]))
        lon = sum(_ratio(v) / 60**i for i, v in enumerate(info[4]))
    except (KeyError, TypeError, IndexError):
        return None
    lat = -lat if info.get(1) in ("S", b"S") else lat
    lon = -lon if info.get(3) in ("W", b"W") else lon
    return round(lat, 6), round(lon, 6)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip("\x00 ")[:200] or None if value is not None else None


def probe_image(path: str, facts: dict[str, Any]) -> None:
    import warnings

    import imagehash
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    with Image.open(path, formats=SAFE_IMAGE_FORMATS) as image:
        facts["width"], facts["height"] = image.size
        exif = image.getexif()
        facts["device_make"] = _text(exif.get(0x010F))
        facts["device_model"] = _text(exif.get(0x0110))
        facts["owner_name"] = _text(exif.get(0x013B))
        details = exif.get_ifd(0x8769)
        facts["capture_time"] = _text(details.get(0x9003) or exif.get(0x0132))
        facts["device_serial"] = _text(details.get(0xA431))
        facts["owner_name"] = _text(details.get(0xA430)) or facts["owner_name"]
        gps = _gps(dict(exif.get_ifd(0x8825)))
        if gps:
            facts["gps"] = list(gps)
        image.thumbnail((512, 512))
        facts["phash"] = str(imagehash.phash(image))


def _iso6709(text: str) -> list[float] | None:
    import re

    match = re.match(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)", text)
    return [float(match.group(1)), float(match.group(2))] if match else None


def probe_video(path: str, ffprobe: str, facts: dict[str, Any]) -> None:
    result = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            SAFE_VIDEO_FORMATS,
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            "file:" + path,
        ],
        capture_output=True,
        timeout=CPU_SECONDS,
        check=True,
        env={},
    )
    data = json.loads(result.stdout)
    fmt = data.get("format", {})
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items()}
    if fmt.get("duration"):
        facts["duration"] = round(float(fmt["duration"]), 3)
    for stream in data.get("streams", []):
        if stream.get("codec_type") == "video" and stream.get("width"):
            facts["width"], facts["height"] = stream["width"], stream["height"]
            break
    facts["capture_time"] = _text(tags.get("creation_time") or tags.get("com.apple.quicktime.creationdate"))
    facts["device_make"] = _text(tags.get("com.apple.quicktime.make") or tags.get("make"))
    facts["device_model"] = _text(tags.get("com.apple.quicktime.model") or tags.get("model"))
    location = tags.get("location") or tags.get("com.apple.quicktime.location.iso6709")
    if location and (gps := _iso6709(location)):
        facts["gps"] = gps


def strip_image(path: str, copy: str) -> str | None:
    """Re-encode only the pixels (upright, as shown) into a fresh image: no EXIF, XMP, comments or text."""
    import warnings

    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    with Image.open(path, formats=SAFE_IMAGE_FORMATS) as image:
        if getattr(image, "n_frames", 1) > 1:
            return "animated"
        fmt = image.format
        upright = ImageOps.exif_transpose(image)
        clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
        if upright.mode == "P" and (palette := upright.getpalette()):
            clean.putpalette(palette)
        if "transparency" in upright.info:  # which colour is see-through: pixels, not metadata
            clean.info["transparency"] = upright.info["transparency"]
        options: dict[str, Any] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
        clean.save(copy, format=fmt, **options)
    return None


def derive_av(path: str, copy: str, ffmpeg: str, strip: bool, start: str, end: str) -> str | None:
    """Stream copy (no re-encode) of the video and audio streams only, cut at [start, end] if given."""
    if not ffmpeg:
        return "no-ffmpeg"
    cut = ["-ss", start, "-to", end] if start else []
    clean = ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact"] if strip else []
    subprocess.run(
        [
            ffmpeg, "-nostdin", "-v", "error",
            "-protocol_whitelist", "file", "-format_whitelist", SAFE_VIDEO_FORMATS,
            *cut, "-i", "file:" + path,
            "-map", "0:v?", "-map", "0:a?", "-c", "copy", *clean,
            "file:" + copy,
        ],
        capture_output=True,
        timeout=CPU_SECONDS,
        check=True,
        env={},
    )  # fmt: skip
    return None


def derive(argv: list[str]) -> int:
    path, copy, ffmpeg, strip, start, end = argv
    with open(path, "rb") as src:
        head = src.read(4096)
    media_type = sniff(head)
    if media_type == "image/heic":
        refused: str | None = "heic"
    elif family(media_type) == "image":
        refused = strip_image(path, copy) if start == "" else "clip-image"
    elif family(media_type) == "av":
        refused = derive_av(path, copy, ffmpeg, strip == "1", start, end)
    else:
        refused = "not-media"
    print(json.dumps({"refused": refused} if refused else {}))
    return 0


def main(argv: list[str]) -> int:
    forbid_network()
    if argv[1] == "--derive":
        import os

        os.umask(0o077)
        _limit(os.path.getsize(argv[2]) + OUTPUT_BYTES)
        return derive(argv[2:])
    _limit()
    path = argv[1]
    ffprobe = argv[2] if len(argv) > 2 else ""
    with open(path, "rb") as src:
        head = src.read(4096)
    facts: dict[str, Any] = {"media_type": sniff(head)}
    kind = family(facts["media_type"])
    if facts["media_type"] == "image/heic":
        facts["skipped"] = "HEIC images are not read yet: check their metadata by hand"
    elif kind == "image":
        probe_image(path, facts)
    elif kind == "av":
        if ffprobe:
            probe_video(path, ffprobe, facts)
        else:
            facts["skipped"] = "ffprobe is not installed"
    print(json.dumps({k: v for k, v in facts.items() if v is not None}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
