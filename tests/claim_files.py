"""Reimbursement files for claim tests: a newer full download with Amazon's payments appended.

A partial file would replace the original's rows for the days it covers (the overlap rule), so
the new rows are appended to the simulated report, in its own column order and encoding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AS_OF = "2026-11-28"


def newer_reimbursements(original: Path, target: Path, rows: list[dict[str, str]]) -> Path:
    """The reimbursements report `original` plus `rows`, as one newer download."""
    raw = original.read_bytes()
    header = raw.splitlines()[0].decode("cp1252").split("\t")
    end = "\r\n" if raw.splitlines(keepends=True)[0].endswith(b"\r\n") else "\n"
    extra = "".join("\t".join(row.get(h, "") for h in header) + end for row in rows)
    target.write_bytes(raw + extra.encode("cp1252"))
    return target


def payment(claim: dict[str, Any], member: dict[str, Any], **fields: Any) -> dict[str, str]:
    row = {
        "approval-date": f"{AS_OF}T10:00:00+00:00", "reimbursement-id": "9990001",
        "case-id": "", "amazon-order-id": member["order_id"] or "", "reason": "Lost_Warehouse",
        "sku": member["msku"] or "", "fnsku": member["fnsku"] or "", "asin": member["asin"] or "",
        "product-name": "Test item", "condition": "NewItem", "currency-unit": "USD",
        "amount-per-unit": "5.00", "amount-total": "5.00", "quantity-reimbursed-cash": "1",
        "quantity-reimbursed-inventory": "0", "quantity-reimbursed-total": "1",
    }  # fmt: skip
    row.update({k.replace("_", "-"): str(v) for k, v in fields.items()})
    return row
