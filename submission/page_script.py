"""The submit page's one script (built from submission/static/src/, see the Makefile's `static`)
and its Subresource Integrity hash, computed once when the app is built.

The page names the script with `integrity="sha384-…"`, so a file changed on disk after start
is refused by the browser rather than run. Without the built file the page simply has no script
and the plain form posts as with JavaScript off.
"""

import base64
import hashlib
from pathlib import Path

from flask import Flask

SCRIPT_NAME = "intake.js"


def integrity(path: Path) -> str | None:
    """`sha384-<base64>` of the file, or None when it is missing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def install(app: Flask) -> None:
    assert app.static_folder is not None
    app.jinja_env.globals.update(
        page_script=SCRIPT_NAME, page_script_integrity=integrity(Path(app.static_folder) / SCRIPT_NAME)
    )
