"""Returned items that Amazon or its carrier damaged (`return_damaged_by_amazon`).

What it finds: customer-returns rows whose disposition is DAMAGED (warehouse) or CARRIER_DAMAGED,
or whose reason is DAMAGED_BY_FC / DAMAGED_BY_CARRIER; never a unit the customer damaged or that
was defective (disposition CUSTOMER_DAMAGED or DEFECTIVE), whatever the reason says. What cancels
it: CustomerReturn, Damaged_Warehouse or CustomerServiceIssue reimbursements for the same order
(units not already used for an unreturned refund of that order), then such payments naming no
order, oldest first for the FNSKU. Clock: the order item's first refund (else the return date);
window as return_not_received. Value: the refunded principal per unit, else the SKU's median
sale price.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from recoup.rules import allocation
from recoup.rules.context import Context, contributions, earliest, proof
from recoup.rules.kind import Evidence, Form, units

KIND = "return_damaged_by_amazon"
ORDER = 50
NEEDS = ("customer_returns",)
# Refunds (the clock and value), and every payment the earlier kinds did not use.
READS = ("settlements", "date_range_transactions", "reimbursements", "ledger_detail",
         "removal_orders")  # fmt: skip
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("reimbursements",)


def find(ctx: Context) -> ir.Table:
    rows = ctx.shared("returns_damaged", allocation.returns_damaged)
    rows = rows.mutate(_first=earliest(rows, "clock"))
    rows = rows.filter(rows.owed > 0)
    known = rows.f_money.notnull() & (rows.f_units > 0)
    return contributions(
        rows,
        kind=KIND,
        marketplace=rows.marketplace,
        fnsku=rows.fnsku,
        msku=rows.sku,
        asin=rows.asin,
        fulfillment_center=rows.fulfillment_center_id,
        order_id=rows.order_id,
        event_date=rows.clock,
        quantity=rows.owed,
        value_basis=known.ifelse(ibis.literal("refund_principal"), ibis.literal("sale_price")),
        money=known.ifelse(rows.f_money, ibis.null("decimal(18, 2)")),
        money_units=known.ifelse(rows.f_units, ibis.null("int64")),
        proof=proof("reimbursements", rows._first),
        report="customer_returns",
        file_id=rows.file_id,
        line=rows.line,
    )


# -- how it is claimed ----------------------------------------------------------------------------


def units_returned(rows: Evidence) -> int | None:
    """The units the customer-returns rows show."""
    return units(rows.get("customer_returns", []), "quantity") or None


FORM = Form(
    title="Customer return damaged by Amazon or its carrier",
    group_by="order_id",
    line_id="order_id",
    line_label="Order ID",
    file_at=(
        "Inventory Defect and Reimbursement portal > Eligible for claim, or the customer-return "
        "claim tool (order ID)"
    ),
    policy=(
        "FBA inventory reimbursement policy: customer return claims (returned item damaged by "
        "Amazon or the carrier)"
    ),
    attach=(
        (
            "the evidence rows (CSV) from the Customer Returns report (detailed disposition and "
            "reason)"
        ),
    ),
    expected="units returned damaged",
    accounted="reimbursed",
    settle_by="units",
    pays=("CustomerReturn", "Damaged_Warehouse", "CustomerServiceIssue"),
    match_on="order_id",
    expected_units=units_returned,
)
