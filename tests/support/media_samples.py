"""Realistic evidence files made in the tests: photos with and without EXIF, videos, hostile files."""

import base64
import io
import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

GPS_DEGREES = (43.25, 76.95)  # Almaty, as a phone writes it: 43° 15' 0" N, 76° 57' 0" E
DEVICE_MAKE = "Canon"
DEVICE_MODEL = "Canon EOS 90D"
DEVICE_SERIAL = "SN-0451-7781-XQ"
OWNER_NAME = "Aigerim Observer"
CAPTURE_TIME = "2024:03:17 14:01:59"
VIDEO_LOCATION = "+43.2500+076.9500/"
SLEEP_MARKER = b"TAMGA-TEST-MAKE-THE-PROBE-SLEEP"


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A smooth picture (sky gradient and a few discs), different for every seed."""
    rnd = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    top = [rnd.randrange(256) for _ in range(3)]
    bottom = [rnd.randrange(256) for _ in range(3)]
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    for _ in range(6):
        x, y, r = rnd.randrange(width), rnd.randrange(height), rnd.randrange(40, 160)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rnd.randrange(256) for _ in range(3)))
    return image


def _jpeg(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def exif_jpeg(seed: int = 1) -> bytes:
    """A photo as a camera writes it: make, model, body serial, owner, capture time, GPS."""
    exif = Image.Exif()
    exif[0x010F] = DEVICE_MAKE
    exif[0x0110] = DEVICE_MODEL
    exif[0x0132] = "2024:03:17 14:02:00"
    details = exif.get_ifd(0x8769)  # the Exif IFD
    details[0x9003] = CAPTURE_TIME  # DateTimeOriginal
    details[0xA430] = OWNER_NAME  # CameraOwnerName
    details[0xA431] = DEVICE_SERIAL  # BodySerialNumber
    gps = exif.get_ifd(0x8825)  # the GPS IFD; rationals given as floats
    gps[1], gps[2] = "N", (43.0, 15.0, 0.0)
    gps[3], gps[4] = "E", (76.0, 57.0, 0.0)
    return _jpeg(scene(seed), quality=92, exif=exif)


def plain_jpeg(seed: int = 2) -> bytes:
    """A photo with no EXIF at all (a messenger's re-encoding)."""
    return _jpeg(scene(seed), quality=85)


def near_duplicate_jpeg(seed: int = 1) -> bytes:
    """The same picture as exif_jpeg(seed), resized and recompressed, its EXIF gone."""
    return _jpeg(scene(seed).resize((560, 420)), quality=70)


def sleepy_jpeg(seed: int = 3) -> bytes:
    """A valid photo that carries a marker the test's sleeping probe looks for."""
    return _jpeg(scene(seed), quality=80, comment=SLEEP_MARKER)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit greyscale PNG of width x height pixels: a few tens of KiB that inflate to
    width*height/8 bytes (and, as RGB in memory, to far more)."""
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def have_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def mp4(directory: Path) -> bytes:
    """A 2 s 320x240 H.264 video with a GPS position in its metadata, as phones record it."""
    out = directory / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-y", "-v", "error",
            "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=10",
            "-metadata", f"location={VIDEO_LOCATION}",
            "-metadata", "creation_time=2024-03-17T09:02:00Z",
            "-pix_fmt", "yuv420p", str(out),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    data = out.read_bytes()
    out.unlink()
    return data


def truncated(data: bytes, keep: float = 0.4) -> bytes:
    """The first part of a file, as an upload cut short leaves it (an MP4 loses its moov atom)."""
    return data[: int(len(data) * keep)]


def shell_names(token: str) -> tuple[str, str, Path]:
    """Two file names that are shell commands creating a marker file, and the marker.

    The intake keeps only the last path component of a name, so the marker path is spelled
    without a slash (base64, chosen so its encoding has no slash either). Deliberately no
    destructive command: if a regression ever ran one, it must not harm the machine.
    """
    while True:
        marker = Path(f"/tmp/pwned-{token}")
        encoded = base64.b64encode(str(marker).encode()).decode()
        if "/" not in encoded:
            break
        token += "x"
    first = f"$(touch $(echo {encoded}|base64 -d)).jpg"
    second = f"; touch `echo {encoded}|base64 -d` #.mp4"
    return first, second, marker
