"""Your sourcing cost in force on a date (audit-rules.md principle 10, first choice).

A cost row applies to its FNSKU when it names one, else to its SKU, in its marketplace, from its
`effective_from` (or from the beginning when blank); on a given day the row with the latest
`effective_from` on or before it wins.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules.context import Context, stack

BEGINNING = "1900-01-01"


def with_cost(
    ctx: Context, events: ir.Table, *, id_col: str, day: str, sku: str, fnsku: str
) -> ir.Table:
    """`events` with a `cost` column (null where the seller gave no cost)."""
    if "sourcing_costs" not in ctx.available:
        return events.mutate(cost=ibis.null("decimal(18, 2)"))
    c = ctx.table("sourcing_costs")
    c = c.select(
        c_market=c.marketplace,
        c_sku=c.sku,
        c_fnsku=c.fnsku,
        c_cost=c.unit_cost,
        c_from=ibis.coalesce(c.effective_from, ibis.literal(BEGINNING, "date")),
    )
    keyed = events.select(
        _e=events[id_col], _m=events.marketplace, _d=events[day], _s=events[sku],
        _f=events[fnsku],
    )  # fmt: skip
    # Two equality joins (by FNSKU, by SKU) rather than one join on an OR, which engines run as
    # a nested loop.
    by_fnsku = c.filter(c.c_fnsku.notnull())
    by_sku = c.filter(c.c_fnsku.isnull())
    matches = stack(
        keyed.inner_join(by_fnsku, [keyed._m == by_fnsku.c_market, keyed._f == by_fnsku.c_fnsku]),
        keyed.inner_join(by_sku, [keyed._m == by_sku.c_market, keyed._s == by_sku.c_sku]),
    )
    matches = matches.filter(matches.c_from <= matches._d)
    w = ibis.window(
        group_by=matches._e,
        order_by=[matches.c_from.desc(), matches.c_fnsku.isnull(), matches.c_cost.desc()],
    )
    best = matches.mutate(_n=ibis.row_number().over(w)).filter(_._n == 0)
    best = best.select(_e=best._e, cost=best.c_cost)
    out = events.left_join(best, events[id_col] == best._e)
    return out.drop("_e")
