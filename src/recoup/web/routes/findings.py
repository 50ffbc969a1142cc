"""Findings: the newest audit's findings, filtered and sorted in SQL and shown a page at a time;
each opens its evidence, the report rows with their file and line."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from duckdb import DuckDBPyConnection
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from recoup import clock
from recoup.claims import evidence
from recoup.claims.store import dicts
from recoup.findings import COLUMNS, STATES, latest_as_of
from recoup.rules import KINDS, RULES
from recoup.sql import run
from recoup.web import db
from recoup.web.dashboard import partial
from recoup.web.routes import PAGE_SIZE, dashboard, page_number, pages

router = APIRouter()
SORTS = {  # the seller's words -> the SQL that sorts by it
    "deadline": "f.window_closes",
    "date": "f.event_date",
    "amount": "f.amount",
    "units": "f.quantity",
    "kind": "f.kind",
    "sku": "f.msku",
}


@dataclass
class Filters:
    kind: str = ""
    state: str = ""
    expiring: int | None = None  # claimable now and closing within this many days
    marketplace: str = ""
    sku: str = ""  # part of the SKU, FNSKU or ASIN
    sort: str = "deadline"
    order: str = "asc"

    @classmethod
    def of(cls, request: Request) -> Filters:
        q = request.query_params
        days = q.get("expiring", "").strip()
        return cls(
            kind=q.get("kind", "") if q.get("kind") in KINDS else "",
            state=q.get("state", "") if q.get("state") in STATES else "",
            expiring=int(days) if days.isdigit() else None,
            marketplace=q.get("marketplace", "").strip().upper()[:8],
            sku=q.get("sku", "").strip()[:100],
            sort=q.get("sort", "") if q.get("sort") in SORTS else "deadline",
            order="desc" if q.get("order") == "desc" else "asc",
        )

    def sql(self, account: str, as_of: dt.date, today: dt.date) -> tuple[str, list[Any]]:
        clauses, params = ["f.account = ?", "f.as_of = ?"], [account, as_of]
        for column, value in (("kind", self.kind), ("state", self.state),
                              ("marketplace", self.marketplace)):  # fmt: skip
            if value:
                clauses.append(f"f.{column} = ?")
                params.append(value)
        if self.expiring is not None:
            clauses.append("f.window_opens <= ? AND f.window_closes BETWEEN ? AND ?")
            params += [today, today, today + dt.timedelta(days=self.expiring)]
        if self.sku:
            clauses.append("(f.msku ILIKE ? OR f.fnsku ILIKE ? OR f.asin ILIKE ?)")
            params += [f"%{self.sku}%"] * 3
        return " AND ".join(clauses), params

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query string for a link that changes some filters."""
        values = {"kind": self.kind, "state": self.state, "expiring": self.expiring,
                  "marketplace": self.marketplace, "sku": self.sku, "sort": self.sort,
                  "order": self.order, **changes}  # fmt: skip
        return {k: v for k, v in values.items() if v not in ("", None)}


# The claim a finding is in (if any), beside each finding.
_CLAIM = """
LEFT JOIN (
    SELECT m.finding_id, c.claim_id, c.state AS claim_state
    FROM claim_findings m JOIN claims c USING (claim_id)
    WHERE m.removed_on IS NULL AND c.account = ?
    QUALIFY row_number() OVER (PARTITION BY m.finding_id ORDER BY c.drafted_on DESC) = 1
) k USING (finding_id)
"""


def _marketplaces(con: DuckDBPyConnection, account: str, as_of: dt.date | None) -> list[str]:
    rows = run(
        con,
        "SELECT DISTINCT marketplace FROM findings WHERE account = ? AND as_of = ? ORDER BY 1",
        [account, as_of],
    ).fetchall()
    return [r[0] for r in rows]


@router.get("/findings", response_class=HTMLResponse)
def findings(request: Request) -> HTMLResponse:
    app = dashboard(request)
    filters = Filters.of(request)
    today = clock.today()
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        as_of = latest_as_of(con, account)
        rows: list[dict[str, Any]] = []
        paging = pages(0, 1)
        if as_of is not None:
            where, params = filters.sql(account, as_of, today)
            count = run(con, f"SELECT count(*) FROM findings f WHERE {where}", params)
            counted = int((count.fetchone() or (0,))[0])
            paging = pages(counted, page_number(request.query_params.get("page")))
            columns = ", ".join(f"f.{c}" for c in COLUMNS if c != "evidence")
            rows = dicts(run(con,
                f"SELECT {columns}, k.claim_id, k.claim_state FROM findings f {_CLAIM} "
                f"WHERE {where} ORDER BY {SORTS[filters.sort]} {filters.order} NULLS LAST, "
                f"f.finding_id LIMIT {PAGE_SIZE} OFFSET {paging['offset']}",
                [account, *params],
            ))  # fmt: skip
        table = {"as_of": as_of, "rows": rows, "paging": paging, "filters": filters}
        if partial(request):  # the table only, after a filter, sort or page change
            return app.page(request, con, "_findings_table.html", **table)
        return app.page(
            request, con, "findings.html", **table, kinds=KINDS, states=STATES,
            marketplaces=_marketplaces(con, account, as_of),
            summaries={r.kind: r.summary for r in RULES},
        )  # fmt: skip


@router.get("/findings/{finding_id}/evidence", response_class=HTMLResponse)
def finding_evidence(request: Request, finding_id: str) -> HTMLResponse:
    """The report rows that make a finding, grouped by report, with file and line."""
    app = dashboard(request)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        as_of = latest_as_of(con, account)
        found = dicts(run(con,
            f"SELECT {', '.join(COLUMNS)} FROM findings WHERE account = ? AND as_of = ? "
            "AND finding_id = ?", [account, as_of, finding_id],
        ))  # fmt: skip
        if not found:
            raise HTTPException(404, f"no finding {finding_id} in the newest audit")
        finding = found[0]
        finding["evidence"] = json.loads(finding["evidence"])
        rows = evidence.rows(con, account, [finding])
        by_report: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_report.setdefault(row["report"], []).append(row)
        tables = [{"report": report, "rows": report_rows,
                   "columns": evidence.columns(report_rows, ("report", "finding_id"))}
                  for report, report_rows in by_report.items()]  # fmt: skip
        cited = {(e["report"], e["file"], e["line"]) for e in finding["evidence"]}
        shown = {(r["report"], r["file"], r["line"]) for r in rows}
        return app.page(
            request, con, "_evidence.html",
            finding=finding, tables=tables, missing=sorted(cited - shown),
        )  # fmt: skip
