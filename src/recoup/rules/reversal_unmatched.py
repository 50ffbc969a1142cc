"""Reimbursements Amazon took back without giving you the units (`reversal_unmatched`).

What it finds: Reimbursement_Reversal rows (Amazon reclaiming an earlier reimbursement). A
reversal is fair when the units really came back: units found in the ledger (F or N) for the
FNSKU between the original reimbursement and 7 days after the reversal, or for customer-return
payments the customer's return of that order. Reversed units nothing explains are owed, at the
reversed amount per unit. Window: counted from the reversal, as its rows in policy/windows.toml
say.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from recoup.rules import allocation, inputs
from recoup.rules.context import Context, contributions, proof
from recoup.rules.kind import Evidence, Form

KIND = "reversal_unmatched"
ORDER = 90
NEEDS = ("reimbursements",)
READS = ("ledger_detail", "customer_returns")  # found units and returns explain a reversal
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("ledger_detail", "customer_returns")


def find(ctx: Context) -> ir.Table:
    r = ctx.shared("reversals", allocation.reversals)
    r = r.filter(r.reversed > r.explained)
    until = r.approval_date + ibis.interval(days=allocation.EXPLAINED_WITHIN_DAYS)
    return contributions(
        r, kind=KIND, marketplace=r.marketplace, fnsku=r.fnsku, msku=r.sku, asin=r.asin,
        order_id=r.amazon_order_id, reimbursement_id=r.reimbursement_id,
        event_date=r.approval_date, quantity=r.reversed - r.explained, value_basis="reversal",
        money=r.amount_total.abs(), money_units=r.reversed, report="reimbursements",
        proof=proof("ledger_detail", r.o_day, until)
        + proof("customer_returns", r.o_day, until, r.o_reason.isin(inputs.CUSTOMER_PAYMENT)),
        file_id=r.file_id, line=r.line,
    )  # fmt: skip


# -- how it is claimed ----------------------------------------------------------------------------


def units_reversed(rows: Evidence) -> int | None:
    """The units the reversal rows took back."""
    reversed_ = (abs(int(r.get("quantity_reimbursed_total") or 0))
                 for r in rows.get("reimbursements", []))  # fmt: skip
    return sum(reversed_) or None


FORM = Form(
    title="Reimbursement reversed without the units being found",
    group_by="reimbursement_id",
    line_id="reimbursement_id",
    line_label="Reversal ID",
    file_at=(
        "Contact Us > FBA inventory > reimbursement reversal, with the reversal and original "
        "reimbursement IDs"
    ),
    policy=(
        "FBA inventory reimbursement policy: reversals when units are found (a reversal needs "
        "found units or a returned item)"
    ),
    attach=(
        (
            "the evidence rows (CSV): the reversal row; no Inventory Ledger 'found' row and no "
            "customer return explains it"
        ),
    ),
    expected="units reversed",
    accounted="explained by found or returned units",
    settle_by="units",
    pays=("Lost_Warehouse", "Damaged_Warehouse", "CustomerReturn", "CustomerServiceIssue"),
    match_on="fnsku",
    expected_units=units_reversed,
)
