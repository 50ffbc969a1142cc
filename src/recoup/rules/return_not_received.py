"""Customers refunded for items that never came back (`return_not_received`).

What it finds: refunds of FBA orders in your settlements (or Date Range report). Each refund is
counted in units: the printed quantity, or the refunded principal divided by the price per unit
charged on that order item, rounded; a refund of less than half a unit's price is a goodwill
concession, not a return, and is never claimed. What cancels it: units the customer returned for
that order (customer-returns report, any disposition, any date), then Amazon's CustomerReturn or
CustomerServiceIssue reimbursements for the order, or reimbursement lines in your settlement
(REVERSAL_REIMBURSEMENT, FREE_REPLACEMENT_REFUND_ITEMS). Window: opens some weeks after the
refund (the customer may still send the item back) and closes some weeks later, as its rows in
policy/windows.toml say (the dashboard's Settings page lists the windows in force).
Value: what the customer was refunded per unit.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from recoup.rules import allocation
from recoup.rules.context import Context, contributions, proof
from recoup.rules.kind import Form

KIND = "return_not_received"
ORDER = 40
NEEDS = ("settlements|date_range_transactions",)
# Returns and payments that cancel a refund; the ledger's found units explain reversals.
READS = ("settlements", "date_range_transactions", "customer_returns", "reimbursements",
         "ledger_detail")  # fmt: skip
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("customer_returns", "reimbursements")
PROOF_DAYS_BEFORE = 45  # a return or payment may come shortly before the refund is posted


def find(ctx: Context) -> ir.Table:
    rows = ctx.shared("returns_not_received", allocation.returns_not_received)
    rows = rows.filter(rows.owed > 0)
    since = rows.day - ibis.interval(days=PROOF_DAYS_BEFORE)
    return contributions(
        rows,
        kind=KIND,
        marketplace=rows.marketplace,
        msku=rows.sku,
        order_id=rows.order_id,
        event_date=rows.day,
        quantity=rows.owed,
        value_basis="refund_principal",
        # Returns and payments of any date cancel; the days around the refund must be seen.
        proof=proof("customer_returns", since) + proof("reimbursements", since),
        money=rows.principal,
        money_units=rows.units,
        report=rows.report,
        file_id=rows.file_id,
        line=rows.line,
    )


# -- how it is claimed ----------------------------------------------------------------------------

FORM = Form(
    title="Customer refunded but the item was not returned",
    group_by="order_id",
    line_id="order_id",
    line_label="Order ID",
    file_at=(
        "Inventory Defect and Reimbursement portal > Eligible for claim, or the customer-return "
        "claim tool (order ID)"
    ),
    policy=(
        "FBA inventory reimbursement policy: customer return claims (refund issued, item not "
        "returned to the fulfillment center)"
    ),
    attach=(
        (
            "the evidence rows (CSV): the refund in my settlement report; no matching row in the "
            "Customer Returns report"
        ),
    ),
    expected="units refunded",
    accounted="returned or reimbursed",
    settle_by="units",
    pays=("CustomerReturn", "CustomerServiceIssue"),
    match_on="order_id",
)
