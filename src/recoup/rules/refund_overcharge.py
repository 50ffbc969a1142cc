"""Refunds that took more from you than they should have (`refund_overcharge`).

What it finds, for FBA and your own (merchant-fulfilled) orders alike: an order item whose
refunded principal exceeds the principal the customer paid (by more than a cent; needs the order
in your settlements), and refunds where Amazon kept more refund administration fee than its rule
allows: the lesser of 5.00 or 20 % of the refunded referral fee. Date Range reports do not show
that fee separately and are not checked for it. Owed: the excess (no units). Window: counted from
the item's first refund, as its rows in policy/windows.toml say.
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules import inputs
from recoup.rules.context import Context, contributions, stack
from recoup.rules.kind import Form

KIND = "refund_overcharge"
ORDER = 100
NEEDS = ("settlements|date_range_transactions",)
READS = ("settlements", "date_range_transactions")
# The reports that must cover a finding's days before it is claimed (principle 11).
PROVEN_BY: tuple[str, ...] = ()
CAP = Decimal("5.00")
RATE = Decimal("0.20")
SLACK = Decimal("0.01")
ITEM = ["marketplace", "order_id", "sku"]


def find(ctx: Context) -> ir.Table:
    events = ctx.shared("refund_events", inputs.refund_events)
    items = ctx.shared("order_items", inputs.order_items)
    first = events.group_by(ITEM).aggregate(first_day=_.day.min(), refunded=_.principal.sum())

    charged = first.inner_join(items, ITEM)
    charged = charged.mutate(excess=charged.refunded - charged.principal)
    charged = charged.filter(charged.excess > ibis.literal(SLACK))

    allowed = ibis.least(ibis.literal(CAP), events.commission * ibis.literal(RATE)).round(2)
    fees = events.filter(events.commission.notnull() & events.refund_commission.notnull())
    fees = fees.mutate(excess=fees.refund_commission - allowed)
    fees = fees.filter(fees.excess > ibis.literal(SLACK))
    fees = fees.inner_join(first, ITEM)

    def one(t: ir.Table, money: ir.Value | None, report: ir.Value | str, file_id: ir.Value,
            line: ir.Value) -> ir.Table:  # fmt: skip
        return contributions(
            t, kind=KIND, marketplace=t.marketplace, msku=t.sku, order_id=t.order_id,
            event_date=t.first_day, quantity=0, value_basis="fee_difference",
            money=money if money is not None else ibis.literal(Decimal("0.00")),
            money_units=0, report=report, file_id=file_id, line=line,
        )  # fmt: skip

    cited_refunds = events.inner_join(charged.select(*ITEM, "first_day"), ITEM)
    return stack(
        one(charged, charged.excess, charged.report, charged.file_id, charged.line),
        one(cited_refunds, None, cited_refunds.report, cited_refunds.file_id, cited_refunds.line),
        one(fees, fees.excess, "settlements", fees.fee_file_id, fees.fee_line),
    )


# -- how it is claimed ----------------------------------------------------------------------------

FORM = Form(
    title="Refund took back more than the customer was charged",
    group_by="order_id",
    line_id="order_id",
    line_label="Order ID",
    file_at="Contact Us > Payments > a transaction, as a research request for the order",
    policy=(
        "Refund administration fee (at most 20 % of the refunded referral fee, capped at 5.00) "
        "and refund amounts, per order"
    ),
    attach=("the evidence rows (CSV) from my settlement report for this order",),
    expected="",
    accounted="",
    settle_by="amount",
    pays=("CustomerServiceIssue", "GeneralAdjustment", "FeeCorrection", "Fee_Correction"),
    match_on="order_id",
)
