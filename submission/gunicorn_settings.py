"""gunicorn settings for the intake (deploy/gunicorn.conf.py re-exports them).

Threads, not sync workers: a Tor upload at 50 KB/s can take hours, and a sync worker would be
killed at its timeout mid-upload and block everyone behind it. gthread keeps the worker's
heartbeat in its main thread while request threads stream bodies, and the app caps concurrent
uploads below the thread count so pages stay served. No buffering proxy in front: it would
spool bodies to disk in plaintext.
"""

import ctypes
import ctypes.util
import os

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter

worker_class = "gthread"
workers = int(os.environ.get("TAMGA_WORKERS", "2"))
threads = int(os.environ.get("TAMGA_THREADS", "64"))
timeout = 60  # heartbeat only; long uploads are bounded by the app's idle timeout instead
graceful_timeout = 30
keepalive = 5
accesslog = None  # no access log: it would hold who came when
disable_redirect_access_to_syslog = True
errorlog = "-"
loglevel = "warning"
capture_output = False
limit_request_line = 4094
limit_request_fields = 60
forwarded_allow_ips = ""
proxy_allow_ips = ""
# The heartbeat file lives in RAM: no disk write per beat.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
wsgi_app = "wsgi:app"


def post_fork(server: object, worker: object) -> None:
    """Keep each worker's memory flat however many uploads it seals at once.

    Every upload allocates and frees 64 KiB chunks in its own thread. glibc raises its mmap
    threshold after the first such free and then serves them from per-thread heaps that keep
    the memory: 48 uploads held ~140 MB. A fixed threshold of 64 KiB returns each chunk to the
    system when freed (~85 MB for 48 uploads, bench/intake.py).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 64 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def on_starting(server: object) -> None:
    """Remove what a killed process left half-written, before any worker starts."""
    from submission.settings import load_settings
    from submission.store import EnvelopeStore

    settings = load_settings(os.environ["TAMGA_DATA_DIR"])
    EnvelopeStore(settings.store_dir, 0).remove_stale_parts()
