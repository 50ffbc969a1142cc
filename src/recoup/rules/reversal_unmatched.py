"""Reimbursements Amazon took back without giving you the units (`reversal_unmatched`).

What it finds: Reimbursement_Reversal rows (Amazon reclaiming an earlier reimbursement). A
reversal is fair when the units really came back: units found in the ledger (F or N) for the
FNSKU between the original reimbursement and 7 days after the reversal, or for customer-return
payments the customer's return of that order. Reversed units nothing explains are owed, at the
reversed amount per unit. Window: 60 days from the reversal.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from recoup.rules import allocation, inputs
from recoup.rules.context import Context, contributions, proof

KIND = "reversal_unmatched"
NEEDS = ("reimbursements",)
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
