"""Viewing on the review station: a seek into a 2 GiB video envelope, memory while it plays, the inbox.

Run from the repository root:

    .venv/bin/python bench/station.py                 # 2 GiB video, 10,000 inbox items
    .venv/bin/python bench/station.py --quick         # 256 MiB, 1,000 items: a smoke run
    .venv/bin/python bench/station.py --size 4G --dir /work --keep

It prints numbers only; the targets (seek < 100 ms to the first byte, memory < 100 MB and flat,
inbox p95 < 300 ms) are printed beside them as "met" / "NOT met", never asserted. MB = 10^6 bytes.

Setup (untimed), in a temporary directory under --dir (default: the repository's parent), removed
at the end unless --keep: a station made with review.station.Station.create (real passphrase); a
video plaintext of --size (1 MiB blocks of random bytes, each with its own counter, so no two
chunks are alike) sealed with crypto.Sealer straight into the vault, catalogued with
review.catalogue.add_item as an import would, with the facts the sandboxed probe records for an MP4
(so preview.playable_type admits it); then --items - 1 more items (envelopes not written: the inbox
never opens them) with varied statuses, regions and days, so the inbox pages through --items.

Measured, in this process (the library, as the web layer calls it):
* seek: --seeks ranges of 1 MiB at random offsets in the middle half of the video; the time from
  calling review.preview.byte_range (open the vault file, verify the header, derive the key) to
  the first plaintext byte (one 64 KiB chunk decrypted), p50 and max;
* play-through: the whole video read as consecutive 1 MiB ranges (as a browser's player asks),
  VmRSS sampled after every range: at the start, the peak, at the end; and MB/s.

Measured over HTTP, when the web UI (review/web/) is in the tree: `tamga-review serve --port 0` in
a child process (this tree's code); the one-time token exchanged, the station unlocked through
its form; then the same seeks as real `Range: bytes=` requests (time from sending the request to
the first body byte), the play-through as 1 MiB Range requests with the server's VmRSS (from
/proc/PID/status) sampled after each, and the inbox (`/`, a status filter, a region filter, a page
deep in the list) requested --inbox-rounds times each: p50 and p95 of the whole response; and the
dashboard: its first load after unlock (which verifies the whole custody log, one event per item
here), --inbox-rounds later loads (which verify only the events added since), and one whole
verification asked for again. The "first" seek is the first media request after unlock.

The load average is printed at the start and the end: the figures vary with what else runs.

Warm cache: the envelope was just written, so reads come from the page cache when RAM allows.
"""

import argparse
import contextlib
import datetime
import hashlib
import http.client
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.sizes import parse_size  # noqa: E402
from bench.verdict import met  # noqa: E402
from crypto import Sealer  # noqa: E402
from review import catalogue, preview  # noqa: E402
from review.media import Content, Facts  # noqa: E402
from review.models import Item  # noqa: E402
from review.station import Keys, Station  # noqa: E402

PASSPHRASE = "bench station passphrase, long enough"  # noqa: S105 (a throwaway station)
ACTOR = "bench"
MiB = 1024 * 1024
RANGE = MiB
MP4_FACTS = {
    "media_type": "video/mp4",
    "container": "mov,mp4,m4a,3gp,3g2,mj2",
    "duration": 3600.0,
    "width": 1920,
    "height": 1080,
}
REGIONS = ("Almaty", "Astana", "Shymkent", "Karaganda Region", "Turkistan Region", None)
STATUSES = ("new", "new", "new", "triaged", "verified", "rejected")


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timing(label: str, millis: list[float], judged: str, target: float) -> None:
    """Print p50 and the judged figure (max or p95) beside its target."""
    worst = max(millis) if judged == "max" else percentile(millis, 0.95)
    print(
        f"{label}: first {millis[0]:.1f} ms, p50 {statistics.median(millis):.1f} ms, {judged} {worst:.1f} ms "
        f"(target {judged} < {target:.0f} ms: {met(worst < target)})"
    )


# --- setup --------------------------------------------------------------------------------------


class _Hashing:
    """A file that hashes what is written to it (the vault is addressed by the ciphertext's hash)."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "wb")  # noqa: SIM115
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.file.write(data)


def seal_video(station: Station, keys: Keys, size: int) -> tuple[str, int, str]:
    """Seal size bytes into the vault; (envelope sha256, envelope size, plaintext sha256)."""
    staging = station.vault_dir / "bench.tmp"
    out = _Hashing(staging)
    sealer = Sealer(out, [keys.identity.recipient])  # type: ignore[arg-type]
    block = bytearray(os.urandom(MiB))
    plain = hashlib.sha256()
    written = 0
    while written < size:
        block[:8] = written.to_bytes(8, "big")
        piece = bytes(block[: min(MiB, size - written)])
        plain.update(piece)
        sealer.write(piece)
        written += len(piece)
    sealer.close()
    out.file.close()
    digest = out.digest.hexdigest()
    target = station.vault_dir / digest[:2] / f"{digest}.age"
    target.parent.mkdir(mode=0o700, exist_ok=True)
    os.replace(staging, target)
    return digest, out.size, plain.hexdigest()


def arrival(number: int, envelope: str, size: int, kind: str = "file") -> catalogue.Arrival:
    day = datetime.date(2026, 3, 1) + datetime.timedelta(days=number % 30)
    return catalogue.Arrival(
        kind=kind,
        envelope_sha256=envelope,
        envelope_size=size,
        submission=f"{number // 3:032x}",
        item_no=number % 3,
        source_id=f"{number // 7:064x}",
        reply_recipient="age1bench",
        received=day,
        bundle="0" * 64,
        original_name=f"VID_{number:05}.mp4",
        declared_type="video/mp4",
    )


def build(root: Path, size: int, count: int) -> tuple[Station, Keys, int]:
    station = Station(root)
    keys = station.create(PASSPHRASE)
    db = station.sessions()()
    started = time.perf_counter()
    envelope, envelope_size, plain = seal_video(station, keys, size)
    sealed = time.perf_counter() - started
    video = catalogue.add_item(
        db,
        keys.signing,
        ACTOR,
        arrival(0, envelope, envelope_size),
        Content(plain, size, Facts("ok", MP4_FACTS)),
    )
    rnd = random.Random(13)
    for number in range(1, count):
        fake = secrets.token_hex(32)
        facts = Facts("ok", {"media_type": "image/jpeg", "width": 640, "height": 480})
        item = catalogue.add_item(
            db, keys.signing, ACTOR, arrival(number, fake, 1000), Content(secrets.token_hex(32), 900, facts)
        )
        item.status = rnd.choice(STATUSES)
        item.region = rnd.choice(REGIONS)
    db.commit()
    video_id = video.id
    db.close()
    print(f"setup: sealed {size / 1e6:.0f} MB in {sealed:.1f} s; {count} items catalogued")
    return station, keys, video_id


# --- the library ----------------------------------------------------------------------------------


def library(station: Station, keys: Keys, video_id: int, seeks: int) -> None:
    db = station.sessions()()
    item = db.get(Item, video_id)
    assert item is not None and preview.playable_type(item) == "video/mp4"
    size = preview.content_size(item)
    rnd = random.Random(7)
    times = []
    for _ in range(seeks):
        start = rnd.randrange(size // 4, 3 * size // 4)
        began = time.perf_counter()
        pieces = preview.byte_range(station, keys, item, start, min(size, start + RANGE) - 1)
        next(iter(pieces))
        times.append((time.perf_counter() - began) * 1000)
        pieces.close()  # type: ignore[attr-defined]
    timing(f"library seek, first byte ({seeks} seeks)", times, "max", 100)
    samples = [rss_mb()]
    began = time.perf_counter()
    for start in range(0, size, RANGE):
        for _ in preview.byte_range(station, keys, item, start, min(size, start + RANGE) - 1):
            pass
        samples.append(rss_mb())
    elapsed = time.perf_counter() - began
    growth = samples[-1] - samples[0]
    print(
        f"library play-through: {size / 1e6 / elapsed:.0f} MB/s; RSS start {samples[0]:.1f} MB, peak "
        f"{max(samples):.1f} MB, end {samples[-1]:.1f} MB (target < 100 MB and flat: "
        f"{met(max(samples) < 100 and growth < 5)})"
    )
    db.close()


# --- over HTTP ------------------------------------------------------------------------------------


class Browser:
    """One cookie, one loopback server: just enough HTTP to unlock the station and ask for ranges."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[http.client.HTTPResponse, float, bytes]:
        """Send; return the response, seconds to the first body byte, and the whole body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {**(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        first = response.read(1)
        to_first = time.perf_counter() - began
        data = first + response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                self.cookie = value.split(";", 1)[0]
        connection.close()
        return response, to_first, data

    def unlock(self, token: str) -> None:
        self.request("GET", "/?token=" + urllib.parse.quote(token))
        _, _, page = self.request("GET", "/unlock")
        match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert match, "no CSRF token on the unlock page"
        form = urllib.parse.urlencode(
            {"csrf_token": match.group(1).decode(), "passphrase": PASSPHRASE, "actor": ACTOR}
        )
        response, _, _ = self.request("POST", "/unlock", form)
        assert response.status == 303, f"unlock answered {response.status}"


@contextlib.contextmanager
def server(root: Path) -> Iterator[tuple[subprocess.Popen[str], int, str]]:
    command = [
        sys.executable,
        "-c",
        "from review.cli import cli; cli()",
        "--station",
        str(root),
        "serve",
        "--port",
        "0",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
        assert match, f"serve printed {line!r}"
        yield process, int(match.group(1)), match.group(2)
    finally:
        process.terminate()
        process.wait(timeout=10)


def over_http(root: Path, video_id: int, size: int, seeks: int, rounds: int) -> None:
    with server(root) as (process, port, token):
        browser = Browser(port)
        browser.unlock(token)
        path = f"/item/{video_id}/media"
        rnd = random.Random(7)
        times = []
        for _ in range(seeks):
            start = rnd.randrange(size // 4, 3 * size // 4)
            response, first, _ = browser.request(
                "GET", path, headers={"Range": f"bytes={start}-{start + RANGE - 1}"}
            )
            assert response.status == 206, response.status
            times.append(first * 1000)
        timing(f"HTTP seek, first body byte ({seeks} seeks)", times, "max", 100)
        samples = [rss_mb(process.pid)]
        began = time.perf_counter()
        for start in range(0, size, RANGE):
            response, _, data = browser.request(
                "GET", path, headers={"Range": f"bytes={start}-{min(size, start + RANGE) - 1}"}
            )
            assert response.status == 206 and len(data) == min(RANGE, size - start)
            samples.append(rss_mb(process.pid))
        elapsed = time.perf_counter() - began
        growth = samples[-1] - samples[len(samples) // 10]
        print(
            f"HTTP play-through: {size / 1e6 / elapsed:.0f} MB/s; server RSS start {samples[0]:.1f} MB, "
            f"peak {max(samples):.1f} MB, end {samples[-1]:.1f} MB (target < 100 MB and flat: "
            f"{met(max(samples) < 100 and growth < 5)})"
        )
        for name, page in (
            ("inbox", "/"),
            ("status filter", "/?status=verified"),
            ("region filter", "/?region=Almaty"),
            ("deep page", "/?page=40"),
        ):
            durations = []
            for _ in range(rounds):
                began = time.perf_counter()
                response, _, _ = browser.request("GET", page)
                durations.append((time.perf_counter() - began) * 1000)
                assert response.status == 200, (page, response.status)
            timing(f"HTTP {name} ({page}, {rounds} requests)", durations, "p95", 300)
        dashboard(browser, rounds)


def dashboard(browser: Browser, rounds: int) -> None:
    """The first dashboard of an unlock verifies the whole custody log; the later ones only what is new."""

    def load(page: str) -> float:
        began = time.perf_counter()
        response, _, body = browser.request("GET", page)
        assert response.status == 200 and b"Custody log verified" in body, (page, response.status)
        return (time.perf_counter() - began) * 1000

    first = load("/dashboard")
    later = [load("/dashboard") for _ in range(rounds)]
    whole = load("/dashboard?verify=whole")
    print(f"HTTP dashboard, first of the unlock (the whole custody log verified): {first:.0f} ms")
    timing(f"HTTP dashboard, later loads (only new events verified, {rounds} requests)", later, "p95", 300)
    print(f"HTTP dashboard, whole log verified again on request: {whole:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="2G", help="the video's plaintext size (default 2G)")
    parser.add_argument("--items", type=int, default=10_000, help="items in the catalogue (default 10000)")
    parser.add_argument("--seeks", type=int, default=20)
    parser.add_argument("--inbox-rounds", type=int, default=30)
    parser.add_argument("--dir", type=Path, default=REPO.parent)
    parser.add_argument("--quick", action="store_true", help="256 MiB and 1,000 items")
    parser.add_argument("--keep", action="store_true", help="keep the station directory")
    options = parser.parse_args()
    size = parse_size("256M" if options.quick else options.size)
    count = 1000 if options.quick else options.items
    print(f"load average at the start: {load_average()}")
    workdir = Path(tempfile.mkdtemp(prefix="tamga-bench-station-", dir=options.dir))
    try:
        station, keys, video_id = build(workdir / "station", size, count)
        library(station, keys, video_id, options.seeks)
        try:
            import review.web  # noqa: F401
        except ImportError:
            print("HTTP: skipped, the web UI (review/web/) is not in this tree")
        else:
            over_http(station.root, video_id, size, options.seeks, options.inbox_rounds)
        print(f"load average at the end: {load_average()}")
    finally:
        if options.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
