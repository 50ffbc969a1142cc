"""How every reimbursement unit is spent, once, across all kinds (audit-rules.md principles 6
and 7). Rules read these allocations; none of them re-spends a unit another kind used.

Order of use: units explained by found units are taken off a reversed reimbursement; customer
payments with an order id cancel that order's refunds (customer-returns rows first), then its
damaged returns; warehouse reimbursements cancel lost or damaged rows of their FNSKU FIFO over
abs(Quantity), and what is left over cancels unauthorised disposals (after the seller's own
disposal orders); `Damaged_Warehouse` units still left, and customer payments naming no order,
cancel damaged returns FIFO per FNSKU.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules import inputs
from recoup.rules.context import Context, earliest, proof, stack
from recoup.rules.fifo import allocate, in_rounds, prefix_taken

LOST = ("M", "5")
DAMAGED = ("E", "6", "7", "H", "K", "U")
DISPOSED = ("D", "G")
KEYS = ["marketplace", "fnsku"]
EXPLAINED_WITHIN_DAYS = 7  # found units up to a week after a reversal explain it
DISPOSAL_ORDER_DAYS = 90  # a disposal order placed this long before a disposal may explain it


# -- reversals (principle 7) -------------------------------------------------------------------


def reversals(ctx: Context) -> ir.Table:
    """`Reimbursement_Reversal` rows with `reversed` units and `explained` (found units that
    explain them): each reversal, by (approval date, id), takes the oldest unused F/N units of
    its FNSKU dated from its original's approval to the reversal + 7 days (and, for customer
    payments, customer-returns rows of the original's order), ledger rows first on a day."""
    r = inputs.reimbursements(ctx)
    originals = (
        r.filter(r.reason != "Reimbursement_Reversal")
        .group_by("marketplace", "reimbursement_id")
        .aggregate(
            o_day=_.approval_date.min(), o_reason=_.reason.max(), o_order=_.amazon_order_id.max()
        )
    )
    rev = r.filter(r.reason == "Reimbursement_Reversal")
    rev = rev.left_join(
        originals,
        [
            rev.marketplace == originals.marketplace,
            rev.original_reimbursement_id == originals.reimbursement_id,
        ],
    ).select(
        *rev.columns,
        o_day=ibis.coalesce(_.o_day, ibis.literal("1900-01-01", "date")),
        o_reason=ibis.coalesce(_.o_reason, _.original_reimbursement_type),
        o_order=_.o_order,
    )
    rev = rev.mutate(reversed=rev.quantity_reimbursed_total.abs().cast("int64"))
    led = inputs.ledger(ctx)
    found = led.filter(
        (led.event_type == "Adjustments") & led.reason.isin(("F", "N")) & (led.quantity > 0)
    ).select(
        "marketplace", "fnsku", "file_id", "line",
        e_day=_.date, e_src=ibis.literal(0, "int8"), e_order=ibis.null("string"),
        e_units=_.quantity.cast("int64"), e_id=inputs.row_id(led, "L"),
    )  # fmt: skip
    explaining = found
    if "customer_returns" in ctx.available:
        ret = inputs.customer_returns(ctx)
        explaining = stack(
            found,
            ret.select(
                "marketplace",
                "fnsku",
                "file_id",
                "line",
                e_day=_.return_date,
                e_src=ibis.literal(1, "int8"),
                e_order=_.order_id,
                e_units=_.quantity.cast("int64"),
                e_id=_._cid,
            ),
        )
    explaining = explaining.mutate(file_id=_.file_id.cast("int64"), line=_.line.cast("int64"))

    def eligible(e: ir.Table, x: ir.Table) -> ir.BooleanValue:
        by_return = x.o_reason.isin(inputs.CUSTOMER_PAYMENT) & (e.e_order == x.o_order)
        return (
            (e.e_day >= x.o_day)
            & (e.e_day <= x.approval_date + ibis.interval(days=EXPLAINED_WITHIN_DAYS))
            & ((e.e_src == 0) | by_return)
        )

    _unused, out = in_rounds(
        explaining,
        rev,
        KEYS,
        eligible=eligible,
        candidate_order=["e_day", "e_src", "file_id", "line"],
        canceller_order=["approval_date", "reimbursement_id", "file_id", "line"],
        units="e_units",
        canceller_units="reversed",
        candidate_id="e_id",
        canceller_id="_xid",
        cache=ctx.cache,
        execute=ctx.execute,
    )
    return out.rename(explained="placed")


def paid_units(ctx: Context) -> ir.Table:
    """Positive reimbursement rows with `units` (cash + inventory) and `net_units` (less the
    units of later reversals that found units explain)."""
    r = inputs.reimbursements(ctx)
    r = r.filter((r.reason != "Reimbursement_Reversal") & (r.quantity_reimbursed_total > 0))
    rev = ctx.shared("reversals", reversals)
    back = rev.group_by(k_market="marketplace", k_id="original_reimbursement_id").aggregate(
        explained_back=_.explained.sum()
    )
    r = r.left_join(back, [r.marketplace == back.k_market, r.reimbursement_id == back.k_id]).drop(
        "k_market", "k_id"
    )
    units = r.quantity_reimbursed_total.cast("int64")
    return r.mutate(
        units=units,
        net_units=ibis.greatest(0, units - r.explained_back.fill_null(0)).cast("int64"),
    )


# -- warehouse kinds -----------------------------------------------------------------------------


def warehouse_rows(ctx: Context, reasons: tuple[str, ...]) -> ir.Table:
    led = inputs.ledger(ctx)
    rows = led.filter(
        (led.event_type == "Adjustments") & led.reason.isin(reasons) & (led.quantity < 0)
    )
    return rows.mutate(units=rows.quantity.abs().cast("int64"), _cid=inputs.row_id(rows, "L"))


def warehouse(ctx: Context) -> dict[str, ir.Table]:
    """Reimbursement units through the warehouse kinds: each payment first cancels lost or
    damaged rows of its own reason (FIFO over abs(Quantity), principle 6), then what it has left
    cancels disposals after the seller's disposal orders. Returns `disposed` (D/G rows with
    `owed`) and `leftover` (payments with units to spare after all three)."""
    paid = ctx.shared("paid_units", paid_units)
    placed_parts = []
    for reasons, pays in ((LOST, "Lost_Warehouse"), (DAMAGED, "Damaged_Warehouse")):
        candidates = warehouse_rows(ctx, reasons)
        payments = paid.filter(paid.reason == pays)
        _rows, placed = allocate(
            candidates, payments, KEYS, day="date", units="units",
            canceller_day="approval_date", canceller_units="net_units",
            canceller_ties=["reimbursement_id"], canceller_id="_xid",
        )  # fmt: skip
        placed_parts.append(placed.mutate(left=_.net_units - _.placed))
    spare = stack(*placed_parts)
    spare = ctx.cache(spare.filter(spare.left > 0))

    disposals = warehouse_rows(ctx, DISPOSED)
    # Principle 11: the seller's disposal orders of the 90 days before, and every warehouse
    # payment since the FNSKU's first disposal, must be in the downloads.
    disposals = disposals.mutate(
        _proof=proof("removal_orders", disposals.date - ibis.interval(days=DISPOSAL_ORDER_DAYS))
        + proof("reimbursements", earliest(disposals, "date"))
    )
    if "removal_orders" in ctx.available:
        orders = ctx.table("removal_orders")
        orders = orders.filter(
            orders.order_type.isin(("Disposal", "Liquidation"))
            & (orders.request_date <= ctx.as_of_value)
        )
        orders = orders.mutate(
            o_units=(orders.requested_quantity.fill_null(0)
                     - orders.cancelled_quantity.fill_null(0)).cast("int64"),
            _oid=inputs.row_id(orders, "O"),
            o_day=orders.request_date,
        )  # fmt: skip
        disposals, _unused = in_rounds(
            disposals,
            orders.filter(orders.o_units > 0),
            KEYS,
            eligible=lambda c, o: c.date >= o.o_day,
            candidate_order=["date", "file_id", "line"],
            canceller_order=["o_day", "order_id", "file_id", "line"],
            units="units",
            canceller_units="o_units",
            candidate_id="_cid",
            canceller_id="_oid",
            cache=ctx.cache,
            execute=ctx.execute,
        )
        disposals = disposals.mutate(units=_.units - _.cancelled).rename(by_orders="cancelled")
    else:
        disposals = disposals.mutate(by_orders=ibis.literal(0, "int64"))
    disposals, placed = allocate(
        disposals, spare, KEYS, day="date", units="units",
        canceller_day="approval_date", canceller_units="left",
        canceller_ties=["reimbursement_id"], canceller_id="_xid",
    )  # fmt: skip
    leftover = placed.mutate(left=_.left - _.placed).filter(_.left > 0)
    return {"disposed": disposals.mutate(owed=_.units - _.cancelled), "leftover": leftover}


# -- customer returns ----------------------------------------------------------------------------


def _customer_payments(ctx: Context, reasons: tuple[str, ...]) -> ir.Table:
    """Units paid per order (reimbursements report) for customer-return reasons, net of
    reversed units that found units explain (principle 7)."""
    paid = ctx.shared("paid_units", paid_units)
    paid = paid.filter(paid.reason.isin(reasons) & paid.amazon_order_id.notnull())
    return paid.group_by("marketplace", order_id=paid.amazon_order_id).aggregate(
        paid=paid.net_units.sum().cast("int64")
    )


def _item_payments(ctx: Context) -> ir.Table:
    """Units of customer payments per (marketplace, order_id, sku), sku '' where the payment
    names none: from the reimbursements report and from settlement lines (positive rows only; a
    line with no order id is matched through its refund's adjustment id). The same payment may
    be in both with no shared id, so per key the larger of the two counts, never their sum.
    A report payment counts its units net of reversed units that found units explain
    (principle 7: a late return that explains a reversal cancels a refund as a return, and the
    payment no longer cancels anything)."""
    paid = ctx.shared("paid_units", paid_units)
    paid = paid.filter(paid.reason.isin(inputs.CUSTOMER_PAYMENT) & paid.amazon_order_id.notnull())
    report = paid.group_by(
        "marketplace", order_id=paid.amazon_order_id, sku=paid.sku.fill_null("")
    ).aggregate(paid=paid.net_units.sum().cast("int64"))
    if "settlements" not in ctx.available:
        return report
    s = ctx.table("settlements")
    s = s.filter(
        (s.amount_type == "FBA Inventory Reimbursement")
        & s.amount_description.isin(inputs.SETTLEMENT_RETURN_PAYMENTS)
        & (s.amount > 0)
        & (s.posted_date <= ctx.as_of_value)
    )
    events = ctx.shared("refund_events", inputs.refund_events)
    by_adjustment = events.select(a_market="marketplace", a_id="adjustment_id", a_order="order_id")
    s = s.left_join(
        by_adjustment,
        [s.marketplace == by_adjustment.a_market, s.adjustment_id == by_adjustment.a_id],
    )
    s = s.mutate(o=ibis.coalesce(s.order_id, s.a_order))
    settled = (
        s.filter(s.o.notnull())
        .group_by("marketplace", order_id=_.o, sku=_.sku.fill_null(""))
        .aggregate(paid=_.quantity_purchased.fill_null(1).sum().cast("int64"))
    )
    keys = ["marketplace", "order_id", "sku"]
    both = report.outer_join(settled, keys)
    return both.select(
        **{k: ibis.coalesce(both[k], both[f"{k}_right"]) for k in keys},
        paid=ibis.greatest(both.paid.fill_null(0), both.paid_right.fill_null(0)),
    )


def returns_not_received(ctx: Context) -> ir.Table:
    """FBA refund events with units, `by_return` and `by_payment` (units cancelled by returned
    units and by customer payments of the same order item), oldest events first. Payments that
    name the item's SKU cancel its refunds first; payments naming no SKU then any of the order's."""
    refunds = ctx.shared("refund_units", inputs.refund_units)
    refunds = refunds.filter((refunds.fulfillment == "AFN") & (refunds.units > 0))
    keys = ["marketplace", "order_id", "sku"]
    if "customer_returns" in ctx.available:
        ret = inputs.customer_returns(ctx)
        back = ret.group_by(*keys).aggregate(returned=ret.quantity.sum().cast("int64"))
        refunds = refunds.left_join(back, keys).drop(*(f"{k}_right" for k in keys))
    else:
        refunds = refunds.mutate(returned=ibis.null("int64"))
    payments = ctx.cache(_item_payments(ctx))
    named = payments.filter(payments.sku != "").rename(paid_item="paid")
    refunds = refunds.left_join(named, keys).drop(*(f"{k}_right" for k in keys))
    unnamed = payments.filter(payments.sku == "").select("marketplace", "order_id",
                                                          paid_order="paid")  # fmt: skip
    refunds = refunds.left_join(unnamed, ["marketplace", "order_id"]).drop(
        "marketplace_right", "order_id_right"
    )
    item = ibis.cumulative_window(
        group_by=[refunds[k] for k in keys], order_by=[refunds.day, refunds.adjustment_id]
    )
    refunds = refunds.mutate(_before=refunds.units.sum().over(item) - refunds.units)
    refunds = refunds.mutate(by_return=prefix_taken(_.units, _._before, _.returned.fill_null(0)))
    refunds = refunds.mutate(_rest=_.units - _.by_return)
    refunds = refunds.mutate(_before2=refunds._rest.sum().over(item) - refunds._rest)
    refunds = refunds.mutate(_by_item=prefix_taken(_._rest, _._before2, _.paid_item.fill_null(0)))
    refunds = refunds.mutate(_rest2=_._rest - _._by_item)
    order = ibis.cumulative_window(
        group_by=[refunds.marketplace, refunds.order_id],
        order_by=[refunds.day, refunds.adjustment_id, refunds.sku],
    )
    refunds = refunds.mutate(_before3=refunds._rest2.sum().over(order) - refunds._rest2)
    refunds = refunds.mutate(
        by_payment=_._by_item + prefix_taken(_._rest2, _._before3, _.paid_order.fill_null(0))
    )
    refunds = refunds.mutate(owed=_.units - _.by_return - _.by_payment)
    return refunds.drop("_before", "_rest", "_before2", "_by_item", "_rest2", "_before3")


def returns_damaged(ctx: Context) -> ir.Table:
    """Damaged-return candidates with their clock date, `cancelled` units and unit value."""
    ret = inputs.customer_returns(ctx)
    damaged = (
        ret.detailed_disposition.isin(("DAMAGED", "CARRIER_DAMAGED"))
        | ret.reason.isin(("DAMAGED_BY_FC", "DAMAGED_BY_CARRIER"))
    ) & ~ret.detailed_disposition.fill_null("").isin(("CUSTOMER_DAMAGED", "DEFECTIVE"))
    cands = ret.filter(damaged).mutate(units=_.quantity.cast("int64"))
    # The clock: the order item's earliest refund when known; its value per unit from it.
    if "settlements" in ctx.available or "date_range_transactions" in ctx.available:
        refunds = ctx.shared("refund_units", inputs.refund_units)
        w = ibis.window(
            group_by=[refunds.marketplace, refunds.order_id, refunds.sku],
            order_by=[refunds.day, refunds.adjustment_id],
        )
        first = refunds.mutate(_n=ibis.row_number().over(w)).filter(_._n == 0)
        per_unit_total = (first.units > 0).ifelse(first.principal, first.o_principal)
        per_unit_count = (first.units > 0).ifelse(first.units, first.o_quantity)
        first = first.select(
            f_market="marketplace", f_order="order_id", f_sku="sku", f_day="day",
            f_money=per_unit_total, f_units=per_unit_count,
        )  # fmt: skip
        cands = cands.left_join(
            first,
            [cands.marketplace == first.f_market, cands.order_id == first.f_order,
             cands.sku == first.f_sku],
        ).drop("f_market", "f_order", "f_sku")  # fmt: skip
    else:
        cands = cands.mutate(
            f_day=ibis.null("date"), f_money=ibis.null("decimal(18, 2)"),
            f_units=ibis.null("int64"),
        )  # fmt: skip
    cands = cands.mutate(clock=ibis.coalesce(_.f_day, _.return_date))

    # Payments naming the order (less units its undelivered refunds used) cancel first.
    payments = _customer_payments(ctx, (*inputs.CUSTOMER_PAYMENT, "Damaged_Warehouse"))
    if "settlements" in ctx.available or "date_range_transactions" in ctx.available:
        used = ctx.shared("returns_not_received", returns_not_received)
        used = used.group_by(u_market="marketplace", u_order="order_id").aggregate(
            used=_.by_payment.sum()
        )
        payments = payments.left_join(
            used, [payments.marketplace == used.u_market, payments.order_id == used.u_order]
        ).select("marketplace", "order_id", avail=_.paid - _.used.fill_null(0))
    else:
        payments = payments.select("marketplace", "order_id", avail=_.paid)
    cands = cands.left_join(payments, ["marketplace", "order_id"]).drop(
        "marketplace_right", "order_id_right"
    )
    w = ibis.cumulative_window(
        group_by=[cands.marketplace, cands.order_id],
        order_by=[cands.return_date, cands.license_plate_number, cands.file_id, cands.line],
    )
    cands = cands.mutate(_before=cands.units.sum().over(w) - cands.units)
    cands = cands.mutate(
        by_order=prefix_taken(_.units, _._before, ibis.greatest(0, _.avail.fill_null(0)))
    )
    cands = cands.mutate(rest=_.units - _.by_order).drop("_before")

    # Then payments with no order id, FIFO per FNSKU by clock date.
    spare = ctx.shared("warehouse", warehouse)["leftover"]
    spare = spare.filter((spare.reason == "Damaged_Warehouse") & spare.amazon_order_id.isnull())
    spare = spare.select(
        "marketplace",
        "fnsku",
        "approval_date",
        "reimbursement_id",
        "file_id",
        "line",
        "_xid",
        units=_.left,
    )
    paid = ctx.shared("paid_units", paid_units)
    blank = paid.filter(paid.reason.isin(inputs.CUSTOMER_PAYMENT) & paid.amazon_order_id.isnull())
    blank = blank.select(spare.columns[:-1], units=_.net_units)
    pool = stack(spare, blank.select(spare.columns))
    cands, _unused = allocate(
        cands, pool, KEYS, day="clock", units="rest", canceller_day="approval_date",
        canceller_units="units", canceller_ties=["reimbursement_id"], candidate_id="_cid",
        canceller_id="_xid", candidate_ties=["license_plate_number"],
    )  # fmt: skip
    return cands.mutate(owed=_.rest - _.cancelled)
