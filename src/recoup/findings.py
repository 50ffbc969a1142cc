"""Stored findings, read back and written out in the export contract (audit-rules.md): table,
CSV (evidence as a JSON string; formula-looking cells escaped for spreadsheets) or JSON."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from json.encoder import encode_basestring
from typing import IO, Any

from duckdb import DuckDBPyConnection

from recoup.cells import safe, text
from recoup.filters import where
from recoup.sql import run

COLUMNS = (
    "finding_id", "kind", "marketplace", "fnsku", "msku", "asin", "fulfillment_center",
    "reference_id", "order_id", "shipment_id", "removal_order_id", "reimbursement_id",
    "event_date", "quantity", "unit_value", "amount", "currency", "value_basis",
    "window_opens", "window_closes", "state", "evidence", "needs",
)  # fmt: skip
# A finding's state as of the audit; `unverified`: the reports that could cancel it do not cover
# the days it needs (principle 11), so it is never drafted.
STATES = ("claimable", "not_yet", "expired", "unverified")
STORED = (*COLUMNS, "window_id")  # the contract's columns, and the policy window's id
BATCH = 10_000  # findings read at a time when exporting


def latest_as_of(con: DuckDBPyConnection, account: str) -> dt.date | None:
    row = run(
        con, "SELECT as_of FROM audits WHERE account = ? ORDER BY ran_at DESC LIMIT 1", [account]
    ).fetchone()
    return row[0] if row else None


def _query(
    con: DuckDBPyConnection,
    account: str,
    as_of: dt.date,
    kinds: Sequence[str],
    states: Sequence[str],
) -> DuckDBPyConnection:
    clause, params = where({"account": account, "as_of": as_of}, {"kind": kinds, "state": states})
    return run(
        con,
        f"SELECT {', '.join(COLUMNS)} FROM findings WHERE {clause} "
        "ORDER BY kind, marketplace, event_date, finding_id",
        params,
    )  # fmt: skip


def load(
    con: DuckDBPyConnection,
    account: str,
    as_of: dt.date,
    kinds: Sequence[str] = (),
    states: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The findings of an audit, their evidence parsed."""
    rows = [dict(zip(COLUMNS, r, strict=True))
            for r in _query(con, account, as_of, kinds, states).fetchall()]  # fmt: skip
    for row in rows:
        row["evidence"] = json.loads(row["evidence"])
    return rows


def stream(
    con: DuckDBPyConnection,
    account: str,
    as_of: dt.date,
    kinds: Sequence[str] = (),
    states: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """The findings of an audit in export order, a batch at a time, their evidence left as the
    JSON text stored (`json.dumps` of it, so written out as it is)."""
    cursor = _query(con, account, as_of, kinds, states)
    while batch := cursor.fetchmany(BATCH):
        for r in batch:
            yield dict(zip(COLUMNS, r, strict=True))


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Rows of `stream` as the contract's CSV (cells defused for spreadsheets); how many."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([safe(row[c] if c == "evidence" else text(row[c])) for c in COLUMNS])
        count += 1
    return count


def write_json(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Rows of `stream` as a JSON list, written as `json.dumps(list, indent=2)` would write it,
    one finding at a time; how many."""
    count = 0
    out.write("[")
    for row in rows:
        plain = {c: json.loads(row[c]) if c == "evidence" else row[c] if c == "quantity"
                 else text(row[c]) for c in COLUMNS}  # fmt: skip
        out.write(("\n  " if count == 0 else ",\n  ") + _indented(plain, 1))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _indented(value: Any, level: int) -> str:
    """`value` as `json.dumps(..., indent=2, ensure_ascii=False)` writes it at `level`. With an
    indent, json falls back to its pure-Python encoder (10 s for 180k findings); here only the
    scalars are encoded, by its C encoder."""
    inner, outer = "\n" + "  " * (level + 1), "\n" + "  " * level
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (
            f"{encode_basestring(str(k))}: {_indented(v, level + 1)}" for k, v in value.items()
        )
        return "{" + inner + ("," + inner).join(items) + outer + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return (
            "[" + inner + ("," + inner).join(_indented(v, level + 1) for v in value) + outer + "]"
        )
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False)


def totals(
    findings: Iterable[dict[str, Any]], by: tuple[str, ...] = ("kind", "state")
) -> dict[tuple[Any, ...], list[Any]]:
    """[count, units, amount] of the findings per value of the `by` columns."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for f in findings:
        total = out.setdefault(tuple(f[c] for c in by), [0, 0, Decimal(0)])
        total[0] += 1
        total[1] += f["quantity"]
        total[2] += f["amount"]
    return out
