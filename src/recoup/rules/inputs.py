"""The rows the rules start from, read the same way by every rule: limited to `as_of`, with the
ids the allocations need. Sales, refunds and reimbursement payments come from the settlement
and, for what no settlement covers, from the Date Range report (principle 8: the settlement row
wins a transaction present in both)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules.context import Context, stack

CUSTOMER_PAYMENT = ("CustomerReturn", "CustomerServiceIssue")
SETTLEMENT_RETURN_PAYMENTS = ("REVERSAL_REIMBURSEMENT", "FREE_REPLACEMENT_REFUND_ITEMS")


def row_id(t: ir.Table, prefix: str) -> ir.StringValue:
    """A row's identity within one audit: its file and line."""
    return ibis.literal(prefix) + t.file_id.cast("string") + ":" + t.line.cast("string")


def _ledger(ctx: Context) -> ir.Table:
    t = ctx.table("ledger_detail")
    return t.filter((t.date <= ctx.as_of_value) & t.event_type.isin(("Adjustments", "Receipts")))


def ledger(ctx: Context) -> ir.Table:
    """The ledger rows any rule reads (adjustments and receipts; most rows are sales)."""
    t: ir.Table = ctx.shared("ledger", _ledger)
    return t


def _up_to_as_of(ctx: Context, table: str, day: str, id_column: str, prefix: str) -> ir.Table:
    """A table's rows dated up to `as_of`, each with its row id; computed once per audit."""

    def compute(ctx: Context) -> ir.Table:
        t = ctx.table(table)
        t = t.filter(t[day] <= ctx.as_of_value)
        return t.mutate(**{id_column: row_id(t, prefix)})

    rows: ir.Table = ctx.shared(table, compute)
    return rows


def reimbursements(ctx: Context) -> ir.Table:
    return _up_to_as_of(ctx, "reimbursements", "approval_date", "_xid", "R")


def customer_returns(ctx: Context) -> ir.Table:
    return _up_to_as_of(ctx, "customer_returns", "return_date", "_cid", "C")


def _date_range_rows(ctx: Context, transaction_type: str) -> ir.Table:
    d = ctx.table("date_range_transactions")
    return d.filter((d.transaction_type == transaction_type) & (d.date_time <= ctx.as_of_value))


def order_items(ctx: Context) -> ir.Table:
    """Charged principal and quantity of every order item that was refunded."""
    events = ctx.shared("refund_events", refund_events)
    return order_items_of(ctx, events.select("marketplace", "order_id").distinct(), "order_id")


def order_items_of(ctx: Context, keep: ir.Table, key: str) -> ir.Table:
    """Charged principal and quantity per order item (marketplace, order_id, sku), for the order
    items whose (marketplace, `key`) is in `keep`: most orders are never needed, and reading
    only the needed ones keeps the audit fast on large accounts."""
    parts = []
    if "settlements" in ctx.available:
        s = ctx.table("settlements")
        s = s.filter((s.transaction_type == "Order") & (s.posted_date <= ctx.as_of_value))
        s = s.semi_join(keep, ["marketplace", key])
        principal = (s.amount_type == "ItemPrice") & (s.amount_description == "Principal")
        items = s.group_by("marketplace", "order_id", "sku").aggregate(
            principal=principal.ifelse(s.amount, ibis.null("decimal(18, 2)")).sum(),
            # V2 prints the quantity on every row of the item; V1 on a row of its own.
            quantity=ibis.coalesce(
                principal.ifelse(s.quantity_purchased, ibis.null("int64")).max(),
                s.amount.isnull().ifelse(s.quantity_purchased, ibis.null("int64")).max(),
            ),
            day=s.posted_date.min(),
            file_id=principal.ifelse(s.file_id, ibis.null("int32")).min(),
            line=principal.ifelse(s.line, ibis.null("int64")).min(),
        )
        parts.append(items.mutate(report=ibis.literal("settlements")))
    if "date_range_transactions" in ctx.available:
        d = _date_range_rows(ctx, "Order").semi_join(keep, ["marketplace", key])
        items = d.group_by("marketplace", "order_id", "sku").aggregate(
            principal=d.product_sales.sum(),
            quantity=d.quantity.sum(),
            day=d.date_time.min(),
            file_id=d.file_id.min(),
            line=d.line.min(),
        )
        items = items.mutate(report=ibis.literal("date_range_transactions"))
        if parts:
            items = items.anti_join(parts[0], ["marketplace", "order_id", "sku"])
        parts.append(items)
    if not parts:
        raise LookupError("no settlement or Date Range report imported")
    out = stack(*parts)
    return out.filter(out.principal.notnull() & (out.principal > 0) & (out.quantity > 0))


def sale_price_medians(ctx: Context, skus: ir.Table) -> ir.Table:
    """The median sale price per unit of each (marketplace, sku) in `skus` (to count the units
    of a refund whose order is not imported)."""
    items = order_items_of(ctx, skus, "sku")
    per_unit = items.principal.cast("float64") / items.quantity.cast("float64")
    return items.group_by("marketplace", "sku").aggregate(median_price=per_unit.median())


def refund_events(ctx: Context) -> ir.Table:
    """One row per refund event (adjustment id; a Date Range row is its own event): refunded
    principal (positive), the printed quantity when there is one, refunded commission and the
    refund administration fee kept, and the first principal row as evidence."""
    parts = []
    if "settlements" in ctx.available:
        s = ctx.table("settlements")
        s = s.filter((s.transaction_type == "Refund") & (s.posted_date <= ctx.as_of_value))
        principal = (s.amount_type == "ItemPrice") & (s.amount_description == "Principal")
        fees = s.amount_type == "ItemFees"
        money = "decimal(18, 2)"
        events = s.group_by("marketplace", "order_id", "sku", "adjustment_id").aggregate(
            principal=-(principal.ifelse(s.amount, ibis.null(money)).sum()),
            commission=(fees & (s.amount_description == "Commission"))
            .ifelse(s.amount, ibis.null(money))
            .sum(),
            refund_commission=-(
                (fees & (s.amount_description == "RefundCommission"))
                .ifelse(s.amount, ibis.null(money))
                .sum()
            ),
            fulfillment=s.fulfillment_id.max(),
            day=s.posted_date.min(),
            file_id=principal.ifelse(s.file_id, ibis.null("int32")).min(),
            line=principal.ifelse(s.line, ibis.null("int64")).min(),
            fee_file_id=(fees & (s.amount_description == "RefundCommission"))
            .ifelse(s.file_id, ibis.null("int32"))
            .min(),
            fee_line=(fees & (s.amount_description == "RefundCommission"))
            .ifelse(s.line, ibis.null("int64"))
            .min(),
        )
        events = events.mutate(
            quantity=ibis.null("int64"), report=ibis.literal("settlements")
        ).filter(_.principal.notnull())
        parts.append(events)
    if "date_range_transactions" in ctx.available:
        d = _date_range_rows(ctx, "Refund")
        events = d.select(
            "marketplace",
            "order_id",
            "sku",
            adjustment_id=ibis.literal("D")
            + d.file_id.cast("string")
            + ":"
            + d.line.cast("string"),
            principal=-d.product_sales,
            commission=ibis.null("decimal(18, 2)"),
            refund_commission=ibis.null("decimal(18, 2)"),
            fulfillment=d.fulfillment_channel,
            day=d.date_time,
            file_id=d.file_id,
            line=d.line,
            fee_file_id=ibis.null("int32"),
            fee_line=ibis.null("int64"),
            quantity=d.quantity.abs(),
            report=ibis.literal("date_range_transactions"),
        )
        if parts:
            settled = parts[0]
            events = events.anti_join(
                settled,
                [
                    events.order_id == settled.order_id,
                    events.sku == settled.sku,
                    events.day == settled.day,
                    events.principal == settled.principal,
                ],
            )
        parts.append(events)
    if not parts:
        raise LookupError("no settlement or Date Range report imported")
    out = stack(*parts)
    return out.mutate(_cid=ibis.literal("F") + out.adjustment_id)


def refund_units(ctx: Context) -> ir.Table:
    """FBA refund events with their units (return_not_received's candidates): the printed
    quantity, else refunded principal / per-unit principal of the order item (else the SKU's
    median sale price), rounded half-up. Less than half a unit is a concession: units 0."""
    events = ctx.shared("refund_events", refund_events)
    items = ctx.shared("order_items", order_items)
    e = events.left_join(
        items.select(
            "marketplace", "order_id", "sku", o_principal="principal", o_quantity="quantity"
        ),
        ["marketplace", "order_id", "sku"],
    ).drop("marketplace_right", "order_id_right", "sku_right")
    e = ctx.cache(e)
    orphans = e.filter(e.o_principal.isnull()).select("marketplace", "sku").distinct()
    if ctx.count(orphans):
        medians = sale_price_medians(ctx, orphans)
        e = e.left_join(medians, ["marketplace", "sku"]).drop("marketplace_right", "sku_right")
    else:
        e = e.mutate(median_price=ibis.null("float64"))
    # In whole cents, so that the half-up rounding is exact: units = round(R * q / P).
    refund = (e.principal * 100).cast("int64")
    order = (e.o_principal * 100).cast("int64")
    by_order = (2 * refund * e.o_quantity + order) // (2 * order)
    by_median = (e.principal.cast("float64") / e.median_price + 0.5).floor().cast("int64")
    computed = e.o_principal.notnull().ifelse(by_order, by_median)
    units = ibis.coalesce(e.quantity, computed, ibis.literal(0, "int64")).cast("int64")
    return e.mutate(units=units)
