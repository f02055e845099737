"""gunicorn entry point: serves the data directory named by TAMGA_DATA_DIR."""

import os

from submission.app import create_app
from submission.settings import load_settings

app = create_app(load_settings(os.environ["TAMGA_DATA_DIR"]))
