"""Loads the YAML rule case files (tests/rules/*.yaml) into a real workspace and audits them.

A case gives rows per canonical table (only the columns it needs; the rest are null), an as-of
date and the findings expected of the file's rule: each expected finding lists the columns it
checks. Rows are stored the way an import stores them: one source file per table, lines from 2,
and the days a day-based report covers. The seller downloaded every report on the as-of date:
each dated report (with rows or without) covers the earliest row date of the case to the as-of
date, unless the case says otherwise (`coverage: {table: [first, last]}`; an empty list: that
report was never downloaded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from recoup import audit as auditing
from recoup import coverage
from recoup.engines import duckdb_engine
from recoup.policy import load_policy
from recoup.reports import DATED_TABLES, REPORT_TYPES
from recoup.reports.base import DayBased
from recoup.rules import RULES
from recoup.settings import AuditSettings
from recoup.workspace import Workspace

ACCOUNT = "case"
DAY_COLUMNS = {r.table: r.merge.day_column for r in REPORT_TYPES if isinstance(r.merge, DayBased)}


def load_cases(folder: Path) -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            cases.append((data["rule"], f"{path.stem}: {case['name']}", case))
    return cases


def store_rows(ws: Workspace, tables: dict[str, list[dict[str, Any]]]) -> None:
    for file_id, (table, rows) in enumerate(sorted(tables.items()), 1):
        ws.con.execute(
            "INSERT INTO source_files VALUES (?, ?, ?, ?, NULL, 0, ?, ?, 'utf-8', ',', 1, '[]', "
            "?, 0, NULL, NULL, now())",
            [file_id, ACCOUNT, f"sha{file_id}", f"{table}.txt", table, table, len(rows)],
        )
        columns = [c[0] for c in ws.con.execute(f"DESCRIBE {table}_rows").fetchall()]
        for line, row in enumerate(rows, 2):
            values = {"account": ACCOUNT, "marketplace": "US", "file_id": file_id,
                      "line": line} | row  # fmt: skip
            unknown = set(values) - set(columns)
            assert not unknown, f"{table} has no columns {unknown}"
            names = list(values)
            ws.con.execute(
                f"INSERT INTO {table}_rows ({', '.join(names)}) "
                f"VALUES ({', '.join('?' for _ in names)})",
                [values[n] for n in names],
            )
        if table == "settlements":  # every settlement file opens with its summary row
            ws.con.execute(
                "INSERT INTO settlement_summaries_rows (account, marketplace, file_id, line, "
                "settlement_id) SELECT DISTINCT account, marketplace, file_id, 1, settlement_id "
                "FROM settlements_rows WHERE file_id = ?",
                [file_id],
            )
        if table in DAY_COLUMNS:
            ws.con.execute(
                f"INSERT INTO coverage_days SELECT DISTINCT ?, account, marketplace, "
                f"{DAY_COLUMNS[table]}, ? FROM {table}_rows WHERE file_id = ? "
                f"AND {DAY_COLUMNS[table]} IS NOT NULL",
                [table, file_id, file_id],
            )


def store_coverage(ws: Workspace, case: dict[str, Any]) -> None:
    tables = case.get("tables", {})
    stated = case.get("coverage", {})
    days = [
        day
        for rows in tables.values()
        for row in rows
        for day in row.values()
        if isinstance(day, dt.date)
    ]
    first = min(days, default=case["as_of"])
    markets = sorted({row.get("marketplace", "US") for rows in tables.values() for row in rows})
    for table in sorted(DATED_TABLES):
        span = stated.get(table, [first, case["as_of"]])
        if span:
            coverage.record(ws.con, None, account=ACCOUNT, report=table,
                            marketplaces=markets or ["US"], span=(span[0], span[1]),
                            basis="batch")  # fmt: skip


def audit_case(
    root: Path, case: dict[str, Any], kinds: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """The case's findings: of every rule, or only of the rules of `kinds` (a rule computes the
    shared allocations it reads itself, so it needs no other rule to run first)."""
    rules = RULES if kinds is None else tuple(r for r in RULES if r.kind in kinds)
    assert rules, f"no rule of the kinds {kinds}"
    with Workspace(root) as ws:
        store_rows(ws, case.get("tables", {}))
        store_coverage(ws, case)
        options = AuditSettings(**case.get("options", {}))
        policy = load_policy(case.get("windows", []))
        as_of = case["as_of"]
        assert isinstance(as_of, dt.date)
        result = auditing.run(
            duckdb_engine(ws.con),
            ACCOUNT,
            as_of,
            policy,
            auditing.file_names(ws.con),
            options=options,
            rules=rules,
        )
        return result.findings


def plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return None
    return str(value) if not isinstance(value, int) else value


def check(rule: str, case: dict[str, Any], findings: list[dict[str, Any]]) -> None:
    order = ("event_date", "reference_id", "order_id", "shipment_id", "removal_order_id",
             "reimbursement_id")  # fmt: skip
    mine = sorted((f for f in findings if f["kind"] == rule),
                  key=lambda f: tuple(str(f[c] or "") for c in order))  # fmt: skip
    expected = case.get("expect", [])
    got = [{k: plain(f.get(k)) for k in e} for f, e in zip(mine, expected, strict=False)]
    want = [{k: plain(v) for k, v in e.items()} for e in expected]
    assert len(mine) == len(expected), (
        f"expected {len(expected)} {rule} findings, got {len(mine)}: "
        + "; ".join(
            f"{f['event_date']} qty {f['quantity']} {f['amount']} {f['state']}" for f in mine
        )
    )
    assert got == want, f"{got} != {want}"
