"""The one FIFO allocation every rule shares (audit-rules.md principles 5 and 6).

Cancellers (reimbursements, found units) are applied per key oldest first; each takes the oldest
open candidate units dated on or before it, and units it cannot place are discarded. Because
cancellers come in date order and always take the oldest units, the units taken so far are always
a prefix of the candidates in date order. So the allocation has a closed form that any SQL engine
runs with cumulative windows, without a loop:

    T_j = min(T_(j-1) + q_j, A_j)  =  Q_j + min(0, min over k <= j of (A_k - Q_k))

where A_j is the candidate units dated on or before canceller j, Q_j the cumulative canceller
units and T_j the units taken after canceller j. Candidate i (cumulative units C_(i-1) before it)
loses `clamp(T - C_(i-1), 0, units_i)` of its units to cancellers.

Allocations whose eligibility has a lower date bound too (disposal orders, reversals explained by
found units) are not prefixes; `in_rounds` takes them one canceller rank at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis import _

from recoup.rules.context import stack

# Larger than any unit count; stands in for "no limit" in a running minimum.
_NO_LIMIT = 2**62


def _order_columns(t: ir.Table, side: int, ties: Sequence[str]) -> ir.Table:
    """Project to the stream's shape: side 0 = candidates (first on a day), 1 = cancellers."""
    return t.select(
        _k=t._k,
        _day=t._day,
        _side=ibis.literal(side, "int8"),
        _tie=t[ties[0]].cast("string") if ties else ibis.literal("", "string"),
        _file=t.file_id.cast("int64"),
        _line=t.line.cast("int64"),
        _id=t._id,
        _units=t._units.cast("int64"),
    )


def prefix_taken(
    units: ir.IntegerValue, before: ir.IntegerValue, total: ir.IntegerValue
) -> ir.IntegerValue:
    """Of a row holding `units` after `before` units of its group, how many fall within the
    group's first `total` units."""
    return ibis.least(units, ibis.greatest(0, total - before))


def allocate(
    candidates: ir.Table,
    cancellers: ir.Table,
    keys: Sequence[str],
    *,
    day: str,
    units: str,
    canceller_day: str | None = None,
    canceller_units: str | None = None,
    canceller_ties: Sequence[str] = (),
    candidate_ties: Sequence[str] = (),
    candidate_id: str = "_cid",
    canceller_id: str = "_xid",
) -> tuple[ir.Table, ir.Table]:
    """Principle 5 FIFO. Returns (candidates with `cancelled`, cancellers with `placed`).

    Both tables need `file_id` and `line` (file order breaks ties) and a unique id column.
    Candidates of one day are taken in the order of `candidate_ties` (their own identifier:
    a shipment id, a removal order id, a license plate number), then file order; cancellers of
    one day in the order of `canceller_ties`, then file order.
    """
    canceller_day = canceller_day or day
    canceller_units = canceller_units or units

    def keyed(t: ir.Table, when: str, amount: str, ident: str) -> ir.Table:
        return t.mutate(
            _k=ibis.literal("|").join([t[k].cast("string").fill_null("") for k in keys]),
            _day=t[when],
            _units=t[amount],
            _id=t[ident].cast("string"),
        )

    c = keyed(candidates, day, units, candidate_id)
    x = keyed(cancellers, canceller_day, canceller_units, canceller_id)
    stream = stack(_order_columns(c, 0, candidate_ties), _order_columns(x, 1, canceller_ties))
    order = [stream._day, stream._side, stream._tie, stream._file, stream._line, stream._id]
    w = ibis.cumulative_window(group_by=stream._k, order_by=order)
    is_candidate = _._side == 0
    stream = stream.mutate(
        _a=is_candidate.ifelse(_._units, 0).sum().over(w),
        _q=is_candidate.ifelse(0, _._units).sum().over(w),
    )
    stream = stream.mutate(_m=is_candidate.ifelse(_NO_LIMIT, _._a - _._q).min().over(w))
    stream = stream.mutate(_t=_._q + ibis.least(0, _._m))

    taken = stream.filter(stream._side == 1)
    totals = taken.group_by("_k").aggregate(_total=taken._t.max())
    w_taken = ibis.window(
        group_by=taken._k,
        order_by=[taken._day, taken._tie, taken._file, taken._line, taken._id],
    )
    placed = taken.mutate(_placed=taken._t - taken._t.lag().over(w_taken).fill_null(0))
    placed = placed.select("_k", "_id", "_placed")

    cands = stream.filter(_._side == 0).select(
        "_k", "_id", _before=stream._a - stream._units, _n=stream._units
    )
    cands = cands.left_join(totals, "_k").select("_id", "_k", "_before", "_n", "_total")
    cands = cands.mutate(
        cancelled=prefix_taken(cands._n, cands._before, cands._total.fill_null(0))
    ).select("_k", "_id", "cancelled")

    out_c = c.left_join(cands, ["_k", "_id"]).drop("_k_right", "_id_right")
    out_c = out_c.mutate(cancelled=out_c.cancelled.fill_null(0)).drop("_k", "_day", "_units", "_id")
    out_x = x.left_join(placed, ["_k", "_id"]).drop("_k_right", "_id_right")
    out_x = out_x.mutate(placed=out_x._placed.fill_null(0)).drop(
        "_k", "_day", "_units", "_id", "_placed"
    )
    return out_c, out_x


def in_rounds(
    candidates: ir.Table,
    cancellers: ir.Table,
    keys: Sequence[str],
    *,
    eligible: Callable[[ir.Table, ir.Table], ir.BooleanValue],
    candidate_order: Sequence[str],
    canceller_order: Sequence[str],
    units: str,
    canceller_units: str,
    candidate_id: str,
    canceller_id: str,
    cache: Callable[[ir.Table], ir.Table],
    execute: Callable[[ir.Expr], Any],
) -> tuple[ir.Table, ir.Table]:
    """FIFO where each canceller may only take some candidates (`eligible`): cancellers are
    taken one rank per key at a time (in `canceller_order`), each taking the oldest eligible open
    units (in `candidate_order`). Returns (candidates with `cancelled`, cancellers with `placed`).
    """
    x = cancellers.mutate(
        _rank=ibis.row_number().over(
            group_by=[cancellers[k] for k in keys],
            order_by=[cancellers[o] for o in canceller_order],
        )
    )
    x = cache(x)
    top = execute(x._rank.max())  # through the engine: the rounds depend on the data
    rounds = 0 if top is None else int(top) + 1
    left = cache(candidates.mutate(_open=candidates[units].cast("int64")))
    placed_parts = []
    for rank in range(rounds):
        now = x.filter(x._rank == rank)
        now = now.select(
            *keys,
            *(c for c in now.columns if c not in keys and c.startswith("_") is False),
            _q=now[canceller_units].cast("int64"),
            _xkey=now[canceller_id],
        )
        open_ = left.filter(left._open > 0)
        pair = open_.inner_join(now, [open_[k] == now[k] for k in keys] + [eligible(open_, now)])
        pair = pair.select(
            _cid=pair[candidate_id],
            _xkey=pair._xkey,
            _q=pair._q,
            _n=pair._open,
            **{f"_o{i}": pair[o] for i, o in enumerate(candidate_order)},
        )
        w = ibis.cumulative_window(
            group_by=pair._xkey, order_by=[pair[f"_o{i}"] for i in range(len(candidate_order))]
        )
        pair = pair.mutate(_before=pair._n.sum().over(w) - pair._n)
        pair = pair.mutate(_take=prefix_taken(pair._n, pair._before, pair._q))
        pair = cache(pair.select("_cid", "_xkey", "_take"))
        took = pair.group_by(_tcid=pair._cid).aggregate(_took=pair._take.sum())
        joined = left.left_join(took, left[candidate_id] == took._tcid)
        left = cache(
            joined.mutate(_open=joined._open - joined._took.fill_null(0)).drop("_tcid", "_took")
        )
        placed_parts.append(pair.group_by("_xkey").aggregate(placed=pair._take.sum()))
    out_c = left.mutate(cancelled=left[units].cast("int64") - left._open).drop("_open")
    out_x = cancellers
    if placed_parts:
        placed = stack(*placed_parts)
        joined = cancellers.left_join(placed, cancellers[canceller_id] == placed._xkey)
        out_x = joined.mutate(placed=joined.placed.fill_null(0)).drop("_xkey")
    else:
        out_x = cancellers.mutate(placed=ibis.literal(0, "int64"))
    return out_c, out_x
