"""gunicorn configuration for the Tamga intake: `gunicorn -c deploy/gunicorn.conf.py`.

The settings live in submission/gunicorn_settings.py so that `tamga-intake serve` uses the
same ones after a plain `pip install .`; read the reasons there.
"""

from submission.gunicorn_settings import *  # noqa: F403
