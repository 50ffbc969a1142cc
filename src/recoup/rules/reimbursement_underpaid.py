"""Reimbursements paid below your sourcing cost (`reimbursement_underpaid`).

What it finds: cash reimbursements for units lost or damaged before a customer order
(Lost_Warehouse, Damaged_Warehouse, Lost_Inbound, Damaged_Inbound, Lost_Outbound) approved since
Amazon began paying by sourcing cost (US 2025-03-31, UK 2025-03-10), where the amount per unit is
more than 5 % below your sourcing cost in force on the approval date. Owed: the difference per
unit times the cash units. Window: counted from the approval date, as its rows in
policy/windows.toml say. Attach your invoices.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from recoup.rules import costs, inputs
from recoup.rules.context import Context, contributions, proof
from recoup.rules.kind import Evidence, Form, units

KIND = "reimbursement_underpaid"
ORDER = 80
NEEDS = ("reimbursements", "sourcing_costs")
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ("reimbursements",)
REASONS = ("Lost_Warehouse", "Damaged_Warehouse", "Lost_Inbound", "Damaged_Inbound",
           "Lost_Outbound")  # fmt: skip


def _cost_basis_from(ctx: Context, marketplace: ir.StringValue) -> ir.DateValue:
    """The policy's cost-basis date per marketplace, as an expression (null: none yet)."""
    policy = ctx.policy
    cases: dict[str, dt.date] = {}
    for scope, day in policy.cost_basis.items():
        for member in policy.groups.get(scope, frozenset({scope})):
            found = policy.cost_basis_from(member)
            if found is not None:
                cases[member] = found
        cases.setdefault(scope, day)
    expr = ibis.null("date")
    for member, day in sorted(cases.items()):
        expr = (marketplace == member).ifelse(ibis.literal(day, "date"), expr)
    return expr


def find(ctx: Context) -> ir.Table:
    r = inputs.reimbursements(ctx)
    since = _cost_basis_from(ctx, r.marketplace)
    r = r.filter(
        r.reason.isin(REASONS)
        & (r.quantity_reimbursed_cash > 0)
        & since.notnull()
        & (r.approval_date >= since)
    )
    r = costs.with_cost(ctx, r, id_col="_xid", day="approval_date", sku="sku", fnsku="fnsku")
    keep = 1 - Decimal(ctx.options.underpaid_tolerance)
    r = r.filter(r.cost.notnull() & (r.amount_per_unit < r.cost * ibis.literal(keep)))
    return contributions(
        r, kind=KIND, marketplace=r.marketplace, fnsku=r.fnsku, msku=r.sku, asin=r.asin,
        order_id=r.amazon_order_id, reimbursement_id=r.reimbursement_id,
        event_date=r.approval_date, quantity=r.quantity_reimbursed_cash,
        value_basis="sourcing_cost", money=r.cost - r.amount_per_unit, money_units=1,
        proof=proof("reimbursements", r.approval_date),
        report="reimbursements", file_id=r.file_id, line=r.line,
    )  # fmt: skip


# -- how it is claimed ----------------------------------------------------------------------------


def units_paid_in_cash(rows: Evidence) -> int | None:
    """The units the reimbursement paid in cash."""
    return units(rows.get("reimbursements", []), "quantity_reimbursed_cash") or None


FORM = Form(
    title="Reimbursement below my sourcing cost",
    group_by="reimbursement_id",
    line_id="reimbursement_id",
    line_label="Reimbursement ID",
    file_at=(
        "Inventory Defect and Reimbursement portal > Manage Your Sourcing Cost (update the cost), "
        "then request a re-evaluation of the reimbursement ID"
    ),
    policy="FBA inventory reimbursement policy: reimbursement value based on your sourcing cost",
    attach=(
        (
            "the supplier invoice (less than a year old) showing the per-unit price, excluding "
            "freight and duty"
        ),
        "the evidence row (CSV) from the Reimbursements report",
    ),
    expected="units paid in cash",
    accounted="",
    settle_by="amount",
    pays=(
        "Lost_Warehouse",
        "Damaged_Warehouse",
        "Lost_Inbound",
        "Damaged_Inbound",
        "Lost_Outbound",
        "GeneralAdjustment",
    ),
    match_on="original_reimbursement_id",
    expected_units=units_paid_in_cash,
)
