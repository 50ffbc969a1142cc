"""Unit values (audit-rules.md principle 10) and identifiers (principle 9), joined to a rule's
contribution rows on the engine before they are collected.

Per contribution: the sourcing cost in force on its clock date; the two middle amounts-per-unit
of its FNSKU's positive Lost/Damaged_Warehouse reimbursements; the two middle sale prices of its
SKU (principal and quantity of each order item, so the median is exact in Decimal afterwards).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules import costs, inputs
from recoup.rules.context import Context, stack


def _middle(t: ir.Table, group: list[str], order: ir.Value, values: dict[str, str]) -> ir.Table:
    """Per group, the lower and upper middle row's `values` (the same row for an odd count)."""
    w = ibis.window(group_by=[t[g] for g in group], order_by=order)
    t = t.mutate(_n=ibis.row_number().over(w), _c=t.count().over(ibis.window(group_by=group)))
    lo = _._n == (_._c - 1) // 2
    hi = _._n == _._c // 2
    t = t.filter(lo | hi)
    aggs = {}
    for name, column in values.items():
        aggs[f"lo_{name}"] = lo.ifelse(t[column], ibis.null(t[column].type())).max()
        aggs[f"hi_{name}"] = hi.ifelse(t[column], ibis.null(t[column].type())).max()
    return t.group_by(group).aggregate(**aggs)


# The reports that pair a SKU with its FNSKU (and ASIN): table -> (sku, fnsku, asin) columns.
IDENTIFIER_SOURCES = {
    "ledger_detail": ("msku", "fnsku", "asin"),
    "customer_returns": ("sku", "fnsku", "asin"),
    "reimbursements": ("sku", "fnsku", "asin"),
    "removal_orders": ("sku", "fnsku", None),
    "inbound_shipment_items": ("seller_sku", "fnsku", None),
    "sourcing_costs": ("sku", "fnsku", None),
}
# What valuing every kind's rows reads, as a rule declares its READS: the identifiers, your costs,
# the reimbursement history and the sale prices.
READS = (*IDENTIFIER_SOURCES, "settlements", "date_range_transactions")


def identifiers(ctx: Context) -> ir.Table:
    """FNSKU and ASIN per (marketplace, SKU) from every imported report that pairs them."""
    parts = []
    for table, (sku, fnsku, asin) in IDENTIFIER_SOURCES.items():
        if table in ctx.available:
            t = ctx.table(table)
            parts.append(
                t.select(
                    i_market=t.marketplace, i_sku=t[sku], i_fnsku=t[fnsku],
                    i_asin=t[asin] if asin else ibis.null("string"),
                ).distinct()
            )  # fmt: skip
    if not parts:
        return ibis.memtable(
            {"i_market": [], "i_sku": [], "i_fnsku": [], "i_asin": []},
            schema={"i_market": "string", "i_sku": "string", "i_fnsku": "string",
                    "i_asin": "string"},
        )  # fmt: skip
    t = stack(*parts).distinct()
    t = t.filter(t.i_sku.notnull() & t.i_fnsku.notnull())
    return t.group_by("i_market", "i_sku").aggregate(i_fnsku=_.i_fnsku.min(), i_asin=_.i_asin.min())


def history(ctx: Context) -> ir.Table:
    r = inputs.reimbursements(ctx)
    r = r.filter(
        r.reason.isin(("Lost_Warehouse", "Damaged_Warehouse"))
        & (r.amount_per_unit > 0)
        & (r.quantity_reimbursed_total > 0)
    )
    mid = _middle(r, ["marketplace", "fnsku"], r.amount_per_unit, {"paid": "amount_per_unit"})
    return mid.rename(h_market="marketplace", h_fnsku="fnsku")


def sale_prices(ctx: Context, skus: ir.Table) -> ir.Table:
    """The two middle sale prices of each (marketplace, sku) in `skus`."""
    items = inputs.order_items_of(ctx, skus, "sku")
    price = items.principal.cast("float64") / items.quantity.cast("float64")
    mid = _middle(items, ["marketplace", "sku"], price, {"p": "principal", "q": "quantity"})
    return mid.rename(s_market="marketplace", s_sku="sku")


def valued(ctx: Context, rows: ir.Table) -> ir.Table:
    """`rows` (contributions) with fnsku/asin filled from the SKU, and the valuation inputs."""
    ids = ctx.shared("identifiers", identifiers)
    rows = rows.mutate(raw_fnsku=rows.fnsku)
    rows = rows.left_join(ids, [rows.marketplace == ids.i_market, rows.msku == ids.i_sku])
    rows = rows.mutate(
        fnsku=ibis.coalesce(_.fnsku, _.i_fnsku), asin=ibis.coalesce(_.asin, _.i_asin)
    ).drop("i_market", "i_sku", "i_fnsku", "i_asin")
    rows = rows.mutate(_vid=ibis.row_number().over(ibis.window(order_by=[
        rows.kind, rows.report, rows.file_id, rows.line, rows.event_date])))  # fmt: skip
    rows = costs.with_cost(ctx, rows, id_col="_vid", day="event_date", sku="msku", fnsku="fnsku")
    if "reimbursements" in ctx.available:
        h = ctx.shared("history", history)
        rows = rows.left_join(h, [rows.marketplace == h.h_market, rows.fnsku == h.h_fnsku]).drop(
            "h_market", "h_fnsku"
        )
    else:
        rows = rows.mutate(lo_paid=ibis.null("decimal(18, 2)"), hi_paid=ibis.null("decimal(18, 2)"))
    rows = ctx.cache(rows)
    # The median sale price is the last resort: read the sales only for the SKUs that need it.
    needy = (
        rows.filter(
            (
                (rows.value_basis == "sale_price")
                | (rows.value_basis.isnull() & rows.cost.isnull() & rows.lo_paid.isnull())
            )
            & rows.msku.notnull()
        )
        .select(marketplace=rows.marketplace, sku=rows.msku)
        .distinct()
    )
    if ctx.available & {"settlements", "date_range_transactions"} and ctx.count(needy):
        s = sale_prices(ctx, needy)
        rows = rows.left_join(s, [rows.marketplace == s.s_market, rows.msku == s.s_sku]).drop(
            "s_market", "s_sku"
        )
    else:
        rows = rows.mutate(
            lo_p=ibis.null("decimal(18, 2)"), hi_p=ibis.null("decimal(18, 2)"),
            lo_q=ibis.null("int64"), hi_q=ibis.null("int64"),
        )  # fmt: skip
    return rows.drop("_vid")
