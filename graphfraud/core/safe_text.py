"""Text that opens safely wherever it goes: a spreadsheet, a web page, an XML reader.

Data in a claims file is whatever the source system held, and a cell like
``=HYPERLINK("http://…")`` in a CSV runs when an investigator opens it in Excel; a facility
named ``<!--<script>`` ends the script block of a page that embeds it as JSON; a NUL or a
control character in an id makes a GraphML file that no XML reader accepts. Everything
graphfraud writes goes through one of the functions here:

* ``csv_cell``: the OWASP rule for CSV injection — a cell starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it as
  text. A plain number (``-99.00``, ``+86``) is left as it is: it evaluates to itself.
* ``write_csv``: the one writer of the project's CSV files (UTF-8 with BOM, for Excel on
  Chinese Windows), every cell through ``csv_cell``.
* ``json_for_html``: JSON to embed in a page's ``<script>``: ``<``, ``>``, ``&`` and the two
  JavaScript line separators escaped as ``\\uXXXX``, so nothing in the data can close the block.
* ``xml_text``: a string without the characters XML 1.0 forbids (controls other than tab, line
  feed and carriage return; surrogates; U+FFFE, U+FFFF), each replaced by U+FFFD.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Iterable

#: a cell starting with one of these is a formula to a spreadsheet
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HTML_JSON = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def csv_cell(value: str | None) -> str:
    """A cell a spreadsheet shows and never evaluates (see the module doc)."""
    if not value:
        return ""
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(path: str | Path, header: Iterable[str], rows: Iterable[Iterable[str | None]]) -> Path:
    """``rows`` of cells already as text (``None`` for empty) into ``path``: UTF-8 with BOM,
    every cell (and the header) neutralised."""
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
    return path


def json_for_html(data, **dumps) -> str:
    """``data`` as JSON safe inside ``<script>`` (see the module doc)."""
    text = json.dumps(data, ensure_ascii=False, **dumps)
    return re.sub("[<>&\u2028\u2029]", lambda m: _HTML_JSON[m.group(0)], text)


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 forbids."""
    return _XML_BAD.sub("\ufffd", value)
