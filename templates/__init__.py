"""Jinja templates of both web UIs, shipped as package data so `pip install .` carries them."""

from pathlib import Path

TEMPLATE_DIR = str(Path(__file__).resolve().parent)
