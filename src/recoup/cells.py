"""Cells for files people open in spreadsheets: plain text values, formulas defused."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value: Any) -> str:
    """Money with two places, ISO dates, blanks for missing values."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is prefixed with a quote.

    A negative amount such as `-6.38` is a formula start too; it is quoted like any other so
    that no cell is ever evaluated."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def csv_text(
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    cell: Callable[[dict[str, Any], str], str] = lambda row, column: text(row.get(column)),
) -> str:
    """A CSV with a header, every cell through `cell` and then defused (`safe`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe(cell(row, c)) for c in columns])
    return out.getvalue()
