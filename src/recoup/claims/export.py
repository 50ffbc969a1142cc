"""`recoup claims export`: one row per claim, in the stable columns of design.md.

Ids a claim holds several of (the FNSKUs of a shipment, say) are joined with `;`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from duckdb import DuckDBPyConnection

from recoup.cells import csv_text, text
from recoup.claims import store

COLUMNS = (
    "claim_id", "kind", "state", "marketplace", "fnsku", "order_id", "shipment_id",
    "removal_order_id", "reimbursement_id", "quantity", "amount", "currency", "window_closes",
    "case_id", "filed_on", "recovered_amount", "finding_ids",
)  # fmt: skip
IDS = ("fnsku", "order_id", "shipment_id", "removal_order_id", "reimbursement_id")


def rows(con: DuckDBPyConnection, account: str, states: Sequence[str] = ()) -> list[dict[str, Any]]:
    claims = store.claims(con, account, states=states)
    claims.sort(key=lambda c: int(c["claim_id"][1:]))
    active: dict[str, list[dict[str, Any]]] = defaultdict(list)
    every: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in store.members(con, [c["claim_id"] for c in claims], active=False):
        every[m["claim_id"]].append(m)
        if m["removed_on"] is None:
            active[m["claim_id"]].append(m)
    out = []
    for c in claims:
        held = active[c["claim_id"]] or every[c["claim_id"]]  # an emptied draft: what it held
        row = {k: c.get(k) for k in COLUMNS if k in c}
        for k in IDS:
            row[k] = ";".join(sorted({m[k] for m in held if m[k]}))
        row["finding_ids"] = [m["finding_id"] for m in held]
        out.append({k: row[k] for k in COLUMNS})
    return out


def to_csv(claims: Sequence[dict[str, Any]]) -> str:
    return csv_text(
        COLUMNS, claims, lambda c, k: ";".join(c[k]) if k == "finding_ids" else text(c[k])
    )


def to_json(claims: Sequence[dict[str, Any]]) -> str:
    plain = [{k: c[k] if k in ("finding_ids", "quantity") else text(c[k]) for k in COLUMNS}
             for c in claims]  # fmt: skip
    return json.dumps(plain, indent=2, ensure_ascii=False) + "\n"


def to_markdown(claims: Sequence[dict[str, Any]]) -> str:
    def cell(value: Any) -> str:
        shown = ", ".join(value) if isinstance(value, list) else text(value)
        return shown.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(c[k]) for k in COLUMNS) + " |" for c in claims]
    return "\n".join(lines) + "\n"
