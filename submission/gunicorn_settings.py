"""gunicorn settings for the intake (deploy/gunicorn.conf.py re-exports them).

Threads, not sync workers: a Tor upload at 50 KB/s can take hours, and a sync worker would be
killed at its timeout mid-upload and block everyone behind it. gthread keeps the worker's
heartbeat in its main thread while request threads stream bodies, and the app caps concurrent
uploads below the thread count so pages stay served. No buffering proxy in front: it would
spool bodies to disk in plaintext.
"""

import os

# gthread, except that request heads are read in the event loop under a deadline (slowloris):
# see submission/worker.py. Its log format keeps only types, code locations and the day.
worker_class = "submission.worker.HeadReadingWorker"
logger_class = "submission.logscrub.GunicornLogger"
# A request head must be complete this many seconds after its connection is accepted (Tor
# Browser sends it in one piece; a real circuit delivers it in a second or two).
HEAD_SECONDS = float(os.environ.get("TAMGA_HEAD_SECONDS", "10"))
# Each upload being sealed costs a worker under 1 MB. gthread workers accept greedily (one took
# 34 of 50 slow uploads in bench/intake.py), so each worker may take up to 48 uploads
# (config.json limits) and keeps 16 threads for pages; four workers spread the load.
workers = int(os.environ.get("TAMGA_WORKERS", "4"))
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
limit_request_field_size = 8190
# Connections per worker, most of them waiting for a head at no thread's cost; the worker raises
# its open-file limit to match.
worker_connections = 1000
forwarded_allow_ips = ""
proxy_allow_ips = ""
# The heartbeat file lives in RAM: no disk write per beat.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
wsgi_app = "wsgi:app"


def on_starting(server: object) -> None:
    """Remove what a killed process left half-written, before any worker starts."""
    from submission.settings import load_settings
    from submission.store import EnvelopeStore

    settings = load_settings(os.environ["TAMGA_DATA_DIR"])
    EnvelopeStore(settings.store_dir, 0).remove_stale_parts()


def post_fork(server: object, worker: object) -> None:
    """Give the worker its head deadline (gunicorn passes only its own settings to workers)."""
    worker.head_seconds = HEAD_SECONDS  # type: ignore[attr-defined]
