"""Text a source (or a reviewer) controls, made harmless where people read it.

Terminals and browsers obey control and bidi-override characters, and spreadsheets run cells that
look like formulas: every human-readable output of the station passes text through here first.
JSON output is exact JSON and never goes through this module.
"""

import unicodedata

# Bidirectional overrides and isolates: they can make text display in a misleading order.
_BIDI = {
    chr(c) for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F)
}
_HIDDEN = ("Cc", "Cf", "Cs", "Co")
_LINE_BREAKS = ("Zl", "Zp")  # U+2028, U+2029: Python's splitlines() and some terminals break on them
# Spreadsheets run a cell that starts with one of these; tab and CR count (OWASP, CSV injection).
_FORMULA_START = frozenset("=+-@\t\r")
# Where a spreadsheet may start a new cell: the separators Excel uses in any locale (`,`; `;` in
# ru, kk, de; tab), and line breaks.
_CELL_SEPARATORS = frozenset(",;\t\n\r")


def _escape(char: str) -> str:
    return f"\\u{ord(char):04x}"


def _hidden(char: str) -> bool:
    """A character that acts on the display instead of showing: control, format, bidi, private."""
    return char in _BIDI or unicodedata.category(char) in _HIDDEN


def neutralise(text: str) -> str:
    """A text block: control and bidi-override characters as visible \\u escapes; newlines and tabs kept."""
    return "".join(_escape(c) if c not in "\n\t" and _hidden(c) else c for c in text)


def one_line(text: str) -> str:
    """One field on one line: like neutralise(), and newlines, tabs and line separators escaped too."""
    return "".join(_escape(c) if _hidden(c) or unicodedata.category(c) in _LINE_BREAKS else c for c in text)


def spreadsheet_cell(text: str) -> str:
    """A CSV cell no spreadsheet runs, whichever separator it splits on.

    Neutralised first; then every formula character that could begin a cell (at the start, or
    after a separator, spaces and double quotes skipped) gets an apostrophe before it.
    """
    out = []
    at_cell_start = True
    for char in neutralise(text):
        if at_cell_start and char in _FORMULA_START:
            out.append("'")
        out.append(char)
        if char in _CELL_SEPARATORS:
            at_cell_start = True
        elif char not in ' "':
            at_cell_start = False
    return "".join(out)
