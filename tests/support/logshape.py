"""What a log line of the intake may hold: a day, a level, a logger, exception types, code locations.

Not a test module: the log tests check every line they provoke against `bad_lines`.
"""

import re

DAY = r"\d{4}-\d{2}-\d{2}"
LEVEL = r"(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)"
NAME = r"[A-Za-z_][\w.]*"
LOCATION = r"(?:[\w./-]+\.py|<[\w.]+>):\d+:(?:\w+|<\w+>)"
FRAMES = rf"(?:{LOCATION}(?: > (?:{LOCATION}|\.\.\.))*)?"
RECORD_LINE = re.compile(rf"{DAY} {LEVEL} {NAME} {LOCATION}")
EXCEPTION_LINE = re.compile(rf"{DAY} {LEVEL} {NAME} (?:raised|cause|context) {NAME}: {FRAMES}")
TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")


def bad_lines(text: str) -> list[str]:
    """The lines that hold anything but the shape above (empty lines aside)."""
    return [
        line
        for line in text.splitlines()
        if line.strip() and not (RECORD_LINE.fullmatch(line) or EXCEPTION_LINE.fullmatch(line))
    ]
