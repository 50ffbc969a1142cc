"""Reimbursements that pay filed claims, found on every import and audit.

1. A reimbursement row whose `case-id` is a filed claim's case id pays that claim, whatever its
   reason (Amazon says so). Several claims under one case id are paid oldest first.
2. A row without a case id pays, oldest filed first, a filed claim of a kind its reason can pay
   (the form's `pays`) that shares its FNSKU, order id or original reimbursement id
   (`match_on`), filed before the row's approval day. A row paid on the filing day or earlier was
   already on its way, so it is not the claim's doing.
3. Each row pays once: a row's units (cash and in kind) and cash are spent across claims and
   never again. Reversal rows (negative) pay nothing; the audit reports them as
   `reversal_unmatched`.

A claim is `reimbursed` when the units it asks for are paid (money-only kinds: its amount, to the
cent), `partly_reimbursed` before that; the rest stays open. Recovered money is the cash paid;
units replaced in kind count as recovered units.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

from recoup.claims import store
from recoup.claims.forms import form
from recoup.money import CENT, cents
from recoup.sql import run


@dataclass
class Paid:
    claim_id: str
    payment_key: str
    units: int
    amount: Decimal
    by_case: bool


KEY = ("marketplace", "reimbursement_id", "fnsku", "sku", "order_id")


def _rows(con: DuckDBPyConnection, account: str) -> list[dict[str, Any]]:
    """Positive reimbursement rows, summed per reimbursement and item.

    The key a payment is remembered by is the reimbursement and its item only: were a later
    download to fill in the case id or reword the reason, the row must not count again."""
    cursor = run(
        con,
        """
        SELECT marketplace, reimbursement_id, coalesce(fnsku, '') AS fnsku,
               coalesce(sku, '') AS sku, coalesce(amazon_order_id, '') AS order_id,
               max(coalesce(case_id, '')) AS case_id, max(coalesce(reason, '')) AS reason,
               max(coalesce(original_reimbursement_id, '')) AS original_id,
               min(approval_date) AS approval_date,
               sum(coalesce(quantity_reimbursed_total, 0)) AS units,
               sum(coalesce(amount_total, 0)) AS amount
        FROM reimbursements
        WHERE account = ? AND reimbursement_id IS NOT NULL AND approval_date IS NOT NULL
          AND coalesce(reason, '') <> 'Reimbursement_Reversal'
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(coalesce(amount_total, 0)) > 0 OR sum(coalesce(quantity_reimbursed_total, 0)) > 0
        ORDER BY approval_date, reimbursement_id, fnsku, sku, order_id
        """,
        [account],
    )
    rows = store.dicts(cursor)
    for r in rows:
        r["key"] = "|".join(str(r[c]) for c in KEY)
    return rows


def _spent(con: DuckDBPyConnection, account: str) -> dict[str, tuple[int, Decimal]]:
    rows = run(
        con,
        "SELECT payment_key, sum(units), sum(amount) FROM claim_events "
        "WHERE account = ? AND event = 'payment' GROUP BY payment_key",
        [account],
    ).fetchall()
    return {k: (int(u or 0), Decimal(a or 0)) for k, u, a in rows}


def _ids(members: list[dict[str, Any]], field: str) -> set[str]:
    return {m[field] for m in members if m[field]}


def _need(claim: dict[str, Any]) -> Any:
    if form(claim["kind"]).settle_by == "units":
        return claim["quantity"] - claim["recovered_units"]
    return claim["amount"] - claim["recovered_amount"]


def match(con: DuckDBPyConnection, account: str) -> list[Paid]:
    """Match the account's unspent reimbursement rows to its filed claims (one transaction)."""
    claims = [c for c in store.claims(con, account) if c["filed_on"] is not None]
    if not claims:
        return []
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in store.members(con, [c["claim_id"] for c in claims]):
        members[m["claim_id"]].append(m)
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in claims:
        if c["case_id"] and c["state"] not in ("withdrawn",):
            by_case[c["case_id"].strip()].append(c)
    index = _index(claims, members)
    spent = _spent(con, account)
    paid: list[Paid] = []
    with store.transaction(con):
        for row in _rows(con, account):
            used_units, used_amount = spent.get(row["key"], (0, Decimal(0)))
            units, amount = int(row["units"]) - used_units, Decimal(row["amount"]) - used_amount
            if units <= 0 and amount <= 0:
                continue
            case = row["case_id"].strip()
            if case and case in by_case:
                targets, whole = by_case[case], True
            elif case:
                continue  # a case recoup does not track: not ours to count
            else:
                near = {c["claim_id"]: c for v in (row["fnsku"], row["sku"], row["order_id"],
                                                   row["original_id"]) if v
                        for c in index.get((row["marketplace"], v), [])}  # fmt: skip
                targets = [c for c in near.values() if c["state"] in store.FILED
                           and _pays(c, row, members[c["claim_id"]])]  # fmt: skip
                whole = False
            paid += _spend(con, row, units, amount, targets, whole, by_case=bool(case))
    return paid


def _index(
    claims: list[dict[str, Any]], members: dict[str, list[dict[str, Any]]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Filed claims by (marketplace, an id a payment could share with them)."""
    index: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for c in claims:
        ids = {
            v
            for m in members[c["claim_id"]]
            for v in (m["fnsku"], m["msku"], m["order_id"], m["reimbursement_id"])
            if v
        }
        for v in ids:
            index[c["marketplace"], v].append(c)
    return index


def _pays(claim: dict[str, Any], row: dict[str, Any], members: list[dict[str, Any]]) -> bool:
    f = form(claim["kind"])
    if row["reason"] not in f.pays:  # the marketplace matches: claims are found by it
        return False
    if not row["approval_date"] > claim["filed_on"]:
        return False
    if f.match_on == "fnsku":
        return bool({row["fnsku"], row["sku"]} & (_ids(members, "fnsku") | _ids(members, "msku")))
    if f.match_on == "order_id":
        return bool(row["order_id"]) and row["order_id"] in _ids(members, "order_id")
    return bool(row["original_id"]) and row["original_id"] in _ids(members, "reimbursement_id")


def _spend(  # noqa: PLR0917 - one row and where it goes
    con: DuckDBPyConnection,
    row: dict[str, Any],
    units: int,
    amount: Decimal,
    targets: list[dict[str, Any]],
    whole: bool,
    *,
    by_case: bool,
) -> list[Paid]:
    """Give the row's units and cash to the targets, oldest filed first."""
    out = []
    open_targets = sorted((c for c in targets if _need(c) > 0),
                          key=lambda c: (c["filed_on"], int(c["claim_id"][1:])))  # fmt: skip
    if whole and not open_targets and targets:
        open_targets = [targets[-1]]  # overpaid on its own case: the claim still takes it
    for n, claim in enumerate(open_targets):
        if units <= 0 and amount <= 0:
            break
        last = n == len(open_targets) - 1
        need = _need(claim)
        if form(claim["kind"]).settle_by == "amount" or (whole and last):
            take_units, take_amount = units, amount
        else:
            take_units = min(units, max(int(need), 0))
            if take_units <= 0:
                continue
            take_amount = amount if take_units == units else cents(amount * take_units / units)
        units, amount = units - take_units, amount - take_amount
        claim["recovered_units"] += take_units
        claim["recovered_amount"] += take_amount
        done = _need(claim) <= (0 if form(claim["kind"]).settle_by == "units" else CENT / 2)
        claim["state"] = "reimbursed" if done else "partly_reimbursed"
        store.save(con, claim, ("state", "recovered_units", "recovered_amount"))
        how = f"case id {row['case_id']}" if by_case else form(claim["kind"]).match_on
        note = f"reimbursement {row['reimbursement_id']} ({row['reason']}), matched by {how}"
        store.event(con, claim, "payment", row["approval_date"], payment_key=row["key"],
                    units=take_units, amount=take_amount, case_id=row["case_id"] or None,
                    note=note)  # fmt: skip
        out.append(Paid(claim["claim_id"], row["key"], take_units, take_amount, by_case))
    return out
