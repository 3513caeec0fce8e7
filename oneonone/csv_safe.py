"""CSV that a spreadsheet opens as text: no cell the app writes is read as a formula.

OWASP's rule for CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets (`=cmd|' /C calc'!A0`,
`@HYPERLINK(...)`), so it gets a leading `'`, which they read as "this is text" and do not show.
Every other cell is written as it is, so an ordinary name reads the same.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: Any) -> Any:
    """`cell` with a `'` in front when a spreadsheet would read it as a formula, else unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


class SpreadsheetSafeWriter:
    """`csv.writer` whose every cell goes through `spreadsheet_safe`."""

    def __init__(self, file, **format_options: Any) -> None:
        self._writer = csv.writer(file, **format_options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file, **format_options: Any) -> SpreadsheetSafeWriter:
    """A CSV writer on `file` (arguments as `csv.writer`) that neutralises formula cells."""
    return SpreadsheetSafeWriter(file, **format_options)
