"""The report rows behind a claim, read back from the workspace for the evidence CSV.

A finding cites `{report, file, line}`; the row is found in `<report>_rows` by the file's name
and line. Two imported files can share a name (two downloads both called `reimbursements.txt`):
then only the rows that name one of the finding's ids are kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from duckdb import DuckDBPyConnection

from recoup.cells import csv_text
from recoup.claims.store import dicts
from recoup.sql import run

HIDDEN = ("account", "file_id", "line")
IDS = ("fnsku", "msku", "sku", "seller_sku", "order_id", "amazon_order_id", "shipment_id",
       "reference_id", "reimbursement_id", "removal_order_id")  # fmt: skip


FINDING_IDS = ("fnsku", "msku", "order_id", "shipment_id", "reference_id", "reimbursement_id",
               "removal_order_id")  # fmt: skip


def _files(con: DuckDBPyConnection, account: str) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for file_id, name, canonical in run(
        con, "SELECT file_id, name, canonical FROM source_files WHERE account = ?", [account]
    ).fetchall():
        out[canonical, str(name).replace("\\", "/").rsplit("/", 1)[-1]].append(int(file_id))
    return out


def _tables(con: DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
    ).fetchall()}  # fmt: skip


def _mentions(row: dict[str, Any], finding: dict[str, Any]) -> bool:
    wanted = {finding.get(c) for c in FINDING_IDS} - {None, ""}
    return any(row.get(c) in wanted for c in IDS)


def rows(
    con: DuckDBPyConnection, account: str, members: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One dict per cited row: report, file, line, finding_id, then the row's own columns."""
    files, tables = _files(con, account), _tables(con)
    wanted: dict[str, list[tuple[dict[str, Any], dict[str, Any], list[int]]]] = defaultdict(list)
    for m in members:
        for e in m["evidence"]:
            ids = files.get((e["report"], e["file"]), [])
            if ids and f"{e['report']}_rows" in tables:
                wanted[e["report"]].append((m, e, ids))
    out = []
    for report, refs in wanted.items():
        ids = sorted({i for _m, _e, fids in refs for i in fids})
        lines = sorted({e["line"] for _m, e, _f in refs})
        cursor = run(
            con,
            f"SELECT * FROM {report}_rows WHERE account = ? AND list_contains(?, file_id) "
            "AND list_contains(?, line)",
            [account, ids, lines],
        )
        found = {(row["file_id"], row["line"]): row for row in dicts(cursor)}
        for m, e, fids in refs:
            hits = [found[f, e["line"]] for f in fids if (f, e["line"]) in found]
            if len(hits) > 1:
                hits = [h for h in hits if _mentions(h, m)] or hits[-1:]
            for hit in hits:
                out.append({"report": report, "file": e["file"], "line": e["line"],
                            "finding_id": m["finding_id"],
                            **{k: v for k, v in hit.items() if k not in HIDDEN}})  # fmt: skip
    out.sort(key=lambda r: (r["report"], r["file"], r["line"], r["finding_id"]))
    return out


def columns(evidence: Sequence[dict[str, Any]], leave_out: Sequence[str] = ()) -> list[str]:
    """The union of the rows' columns, in the order they first appear."""
    out: list[str] = []
    for row in evidence:
        out += [c for c in row if c not in out and c not in leave_out]
    return out


def to_csv(evidence: Sequence[dict[str, Any]]) -> str:
    """One CSV for all reports: the union of their columns, blank where a report has none."""
    return csv_text(columns(evidence), evidence)
