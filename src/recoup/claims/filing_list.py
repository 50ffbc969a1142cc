"""Filing many claims at once from a CSV, for agencies and bookkeepers.

The file needs `claim_id` and `case_id` columns and may have `filed_on` (ISO date; default
today). The claims export is such a file: export the drafts, fill in the case ids in a
spreadsheet, and read it back. Rows without a case id are left alone, as are claims already
filed under that case id. Each claim is filed in its own transaction; a row that cannot be filed
is reported with its line and the reason, and the others still are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from duckdb import DuckDBPyConnection

from recoup.cells import FORMULA_START
from recoup.claims import store, workflow
from recoup.claims.store import ClaimError


@dataclass
class Row:
    line: int
    claim_id: str
    case_id: str
    filed_on: dt.date


def _cell(value: str | None) -> str:
    """The text as typed: the quote recoup's exports put before formula-looking cells goes."""
    text = (value or "").strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def read(path: Path, today: dt.date) -> tuple[list[Row], list[str]]:
    """The rows to file, and the problems (`file, line N: ...`) of the rows that cannot be."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ClaimError(f"{path}: cannot be read ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = {"claim_id", "case_id"} - set(reader.fieldnames or [])
    if missing:
        raise ClaimError(f"{path}, line 1: no {' or '.join(sorted(missing))} column")
    rows, problems = [], []
    for number, raw in enumerate(reader, start=2):
        claim_id, case_id = _cell(raw.get("claim_id")), _cell(raw.get("case_id"))
        if not claim_id or not case_id:
            continue
        day = today
        if _cell(raw.get("filed_on")):
            try:
                day = dt.date.fromisoformat(_cell(raw.get("filed_on")))
            except ValueError:
                problems.append(f"{path}, line {number}: filed_on {raw.get('filed_on')!r} is not "
                                "a date like 2026-11-28")  # fmt: skip
                continue
        rows.append(Row(number, claim_id, case_id, day))
    return rows, problems


def file_all(
    con: DuckDBPyConnection, path: Path, rows: list[Row]
) -> tuple[list[dict[str, Any]], list[str]]:
    """File each row's claim; (claims filed, problems)."""
    filed, problems = [], []
    for row in rows:
        try:
            claim = store.claim(con, row.claim_id)
            if claim["case_id"] == row.case_id and claim["state"] != "draft":
                continue  # filed already (a re-read of the same sheet)
            filed.append(workflow.file(con, row.claim_id, row.case_id, row.filed_on))
        except ClaimError as error:
            problems.append(f"{path}, line {row.line}: {error}")
    return filed, problems
