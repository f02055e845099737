"""SQLite's settings for both of Tamga's databases: the intake's and the station's catalogue.

It lives in crypto/ only because crypto/ is the one package both submission/ and review/ import
(they never import each other). It is pure standard library and knows nothing of SQLAlchemy: each
side passes set_pragmas to its engine's `connect` event, which hands it the sqlite3 connection.
"""

import sqlite3

PRAGMAS = (
    "journal_mode=WAL",  # readers never block the writer, nor it them
    "synchronous=FULL",  # a committed row survives a power cut
    "foreign_keys=ON",
    "secure_delete=ON",  # deleted rows are overwritten, not left in free pages of a seized disk
    "busy_timeout=10000",  # a second writer (a worker, a CLI command) waits 10 s, then fails
)


def set_pragmas(connection: sqlite3.Connection, _record: object = None) -> None:
    """Apply PRAGMAS to a new connection (the signature of SQLAlchemy's `connect` event)."""
    cursor = connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
