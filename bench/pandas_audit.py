# ruff: noqa: E501, PLR0917 - written the way a typical one-off script is, on purpose
"""The same rules written plainly in pandas, the way a typical reconciliation script would:
load the tables into DataFrames, then loop over groups with Python FIFO queues.

Only for bench/audit.py: it times this against recoup's audit on the same workspace and checks
both give the same findings (summed per kind and ids, as the contract says tools compare).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from recoup.money import cents
from recoup.policy import load_policy

LOST, DAMAGED, DISPOSED = {"M", "5"}, {"E", "6", "7", "H", "K", "U"}, {"D", "G"}
CUSTOMER = {"CustomerReturn", "CustomerServiceIssue"}
COST_BASIS = {"US": dt.date(2025, 3, 31), "UK": dt.date(2025, 3, 10)}


def _load(con: Any, sql: str, account: str) -> pd.DataFrame:
    frame = con.execute(sql, [account]).df()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.date
        elif pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].fillna("")
    return frame


class Pool:
    """Open candidate units per key, oldest first."""

    def __init__(self) -> None:
        self.items: list[list[Any]] = []  # [day, order, units, id]

    def add(self, day: Any, order: Any, units: int, ident: Any) -> None:
        self.items.append([day, order, units, ident])

    def ready(self) -> None:
        self.items.sort(key=lambda i: (i[0], i[1]))

    def cancel(self, day: Any, units: int) -> int:
        for item in self.items:
            if units <= 0 or item[0] > day:
                break
            took = min(units, item[2])
            item[2] -= took
            units -= took
        return units

    def left(self) -> dict[Any, int]:
        return {i[3]: i[2] for i in self.items}


def audit(con: Any, account: str, as_of: dt.date) -> list[dict[str, Any]]:
    policy = load_policy()
    ts = pd.Timestamp(as_of)
    led = _load(con, "SELECT marketplace, date, fnsku, msku, event_type, reference_id, quantity, "
                "reason, unreconciled_quantity, fulfillment_center, file_id, line "
                "FROM ledger_detail WHERE account = ?", account)  # fmt: skip
    led = led[pd.to_datetime(led["date"]) <= ts]
    fnsku_of = dict(
        zip(zip(led["marketplace"], led["msku"], strict=True), led["fnsku"], strict=True)
    )
    rb = _load(con, "SELECT * FROM reimbursements WHERE account = ?", account)
    rb = rb[pd.to_datetime(rb["approval_date"]) <= ts]
    ret = _load(con, "SELECT * FROM customer_returns WHERE account = ?", account)
    ret = ret[pd.to_datetime(ret["return_date"]) <= ts]
    st = _load(con, "SELECT marketplace, transaction_type, order_id, sku, adjustment_id, "
               "amount_type, amount_description, amount, fulfillment_id, posted_date, "
               "quantity_purchased FROM settlements WHERE account = ?", account)  # fmt: skip
    st = st[pd.to_datetime(st["posted_date"]) <= ts]
    costs = _load(con, "SELECT * FROM sourcing_costs WHERE account = ?", account)
    removals = _load(con, "SELECT * FROM removal_orders WHERE account = ?", account)
    ships = _load(con, "SELECT * FROM inbound_shipments WHERE account = ?", account)
    items = _load(con, "SELECT * FROM inbound_shipment_items WHERE account = ?", account)

    cost_rows: dict[tuple[str, str], list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for r in costs.itertuples():
        since = r.effective_from if pd.notna(r.effective_from) else dt.date(1900, 1, 1)
        cost_rows[r.marketplace, r.sku].append((since, Decimal(str(r.unit_cost))))

    def cost(market: str, sku: str, day: dt.date) -> Decimal | None:
        known = [c for c in cost_rows.get((market, sku), []) if c[0] <= day]
        return max(known)[1] if known else None

    found: list[dict[str, Any]] = []

    def add(kind: str, market: str, fnsku: str, day: dt.date, qty: int, unit: Decimal,
            amount: Decimal, basis: str, **ids: str) -> None:  # fmt: skip
        window = policy.window(kind, market, day)
        found.append({"kind": kind, "marketplace": market, "fnsku": fnsku, "event_date": day,
                      "quantity": qty, "unit_value": unit, "amount": amount, "value_basis": basis,
                      "window_opens": window.opens, "window_closes": window.closes,
                      "state": window.state(as_of), **{k: ids.get(k, "") for k in (
                          "order_id", "shipment_id", "removal_order_id", "reimbursement_id")}})  # fmt: skip

    def valued(market: str, sku: str, day: dt.date, qty: int) -> tuple[Decimal, Decimal, str]:
        unit = cost(market, sku, day)
        if unit is None:
            return Decimal("0.00"), Decimal("0.00"), "unknown"
        return unit, cents(unit * qty), "sourcing_cost"

    # Reversals explained by found units.
    adj = led[led["event_type"] == "Adjustments"]
    originals = {
        r.reimbursement_id: r for r in rb.itertuples() if r.reason != "Reimbursement_Reversal"
    }
    explaining: dict[tuple[str, str], list[list[Any]]] = defaultdict(list)
    for r in adj[adj["reason"].isin(["F", "N"]) & (adj["quantity"] > 0)].itertuples():
        explaining[r.marketplace, r.fnsku].append([r.date, 0, r.file_id, r.line, r.quantity, None])
    for r in ret.itertuples():
        explaining[r.marketplace, r.fnsku].append(
            [r.return_date, 1, r.file_id, r.line, r.quantity, r.order_id]
        )
    for units in explaining.values():
        units.sort(key=lambda u: (u[0], u[1], u[2], u[3]))
    explained: dict[str, int] = {}
    reversals = rb[rb["reason"] == "Reimbursement_Reversal"].sort_values(
        ["approval_date", "reimbursement_id"]
    )
    for r in reversals.itertuples():
        o = originals.get(r.original_reimbursement_id)
        start = o.approval_date if o is not None else dt.date(1900, 1, 1)
        o_reason = o.reason if o is not None else r.original_reimbursement_type
        want, got = abs(int(r.quantity_reimbursed_total)), 0
        for u in explaining[r.marketplace, r.fnsku]:
            if got >= want:
                break
            if not start <= u[0] <= r.approval_date + dt.timedelta(days=7) or u[4] <= 0:
                continue
            if u[1] == 1 and (o_reason not in CUSTOMER or o is None or u[5] != o.amazon_order_id):
                continue
            take = min(want - got, u[4])
            u[4] -= take
            got += take
        explained[r.reimbursement_id] = got
        if want > got:
            amount_total = abs(Decimal(str(r.amount_total)))
            add("reversal_unmatched", r.marketplace, r.fnsku, r.approval_date, want - got,
                cents(amount_total / want), cents(amount_total * (want - got) / want), "reversal",
                reimbursement_id=r.reimbursement_id, order_id=r.amazon_order_id or "")  # fmt: skip
    back: dict[str, int] = defaultdict(int)
    for r in reversals.itertuples():
        back[r.original_reimbursement_id] += explained[r.reimbursement_id]
    paid = rb[(rb["reason"] != "Reimbursement_Reversal") & (rb["quantity_reimbursed_total"] > 0)]
    paid = paid.sort_values(["approval_date", "reimbursement_id", "file_id", "line"])

    # Warehouse kinds.
    for r in adj[adj["reason"].isin(LOST | DAMAGED) & (adj["quantity"] < 0)].itertuples():
        owed = int(r.unreconciled_quantity) if pd.notna(r.unreconciled_quantity) else 0
        if owed > 0:
            kind = "warehouse_lost" if r.reason in LOST else "warehouse_damaged"
            if r.reason in LOST | {"E"}:
                unit, amount, basis = valued(r.marketplace, r.msku, r.date, owed)
            else:
                unit, amount, basis = Decimal("0.00"), Decimal("0.00"), "unsellable"
            add(kind, r.marketplace, r.fnsku, r.date, owed, unit, amount, basis)
    pools: dict[tuple[str, str, str], Pool] = defaultdict(Pool)
    disposals: dict[tuple[str, str], Pool] = defaultdict(Pool)
    info = {}
    for r in adj[adj["quantity"] < 0].itertuples():
        key = (r.file_id, r.line)
        if r.reason in LOST:
            pools[r.marketplace, r.fnsku, "Lost_Warehouse"].add(r.date, key, -r.quantity, key)
        elif r.reason in DAMAGED:
            pools[r.marketplace, r.fnsku, "Damaged_Warehouse"].add(r.date, key, -r.quantity, key)
        elif r.reason in DISPOSED:
            disposals[r.marketplace, r.fnsku].add(r.date, key, -r.quantity, key)
            info[key] = r
    for pool in [*pools.values(), *disposals.values()]:
        pool.ready()
    for o in removals[removals["order_type"].isin(["Disposal", "Liquidation"])].sort_values(
        ["request_date", "order_id", "file_id", "line"]).itertuples():  # fmt: skip
        units = int(o.requested_quantity) - int(
            o.cancelled_quantity if pd.notna(o.cancelled_quantity) else 0
        )
        for item in disposals[o.marketplace, o.fnsku].items:
            if units <= 0:
                break
            if item[0] >= o.request_date:
                took = min(units, item[2])
                item[2] -= took
                units -= took
    spare_damaged: list[tuple[Any, ...]] = []
    for r in paid[paid["reason"].isin(["Lost_Warehouse", "Damaged_Warehouse"])].itertuples():
        units = max(0, int(r.quantity_reimbursed_total) - back[r.reimbursement_id])
        units = pools[r.marketplace, r.fnsku, r.reason].cancel(r.approval_date, units)
        units = disposals[r.marketplace, r.fnsku].cancel(r.approval_date, units)
        if units > 0 and r.reason == "Damaged_Warehouse" and not r.amazon_order_id:
            spare_damaged.append(
                (
                    r.approval_date,
                    r.reimbursement_id,
                    r.file_id,
                    r.line,
                    r.marketplace,
                    r.fnsku,
                    units,
                )
            )
    for pool in disposals.values():
        for key, units in pool.left().items():
            if units > 0:
                r = info[key]
                unit, amount, basis = valued(r.marketplace, r.msku, r.date, units)
                add(
                    "disposed_unauthorized",
                    r.marketplace,
                    r.fnsku,
                    r.date,
                    units,
                    unit,
                    amount,
                    basis,
                )

    # Refunds and orders.
    principal = st[(st["amount_type"] == "ItemPrice") & (st["amount_description"] == "Principal")]
    orders = principal[principal["transaction_type"] == "Order"].groupby(
        ["marketplace", "order_id", "sku"]).agg(p=("amount", "sum"), q=("quantity_purchased", "max"))  # fmt: skip
    order_of = {
        k: (Decimal(str(p)), int(q))
        for k, p, q in zip(orders.index, orders["p"], orders["q"], strict=True)
    }
    prices: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for (m, _, s), (p, q) in order_of.items():
        if p > 0 and q > 0:
            prices[m, s].append(p / q)

    def median_price(m: str, s: str) -> Decimal:
        values = sorted(prices.get((m, s), []))
        if not values:
            return Decimal("0.00")
        mid = len(values) // 2
        return cents(values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2)

    refunds = st[st["transaction_type"] == "Refund"]
    ev: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in refunds.itertuples():
        e = ev.setdefault((r.marketplace, r.order_id, r.sku, r.adjustment_id), {
            "p": Decimal(0), "c": Decimal(0), "f": Decimal(0), "day": r.posted_date,
            "afn": r.fulfillment_id == "AFN", "has_c": False, "has_f": False, "has_p": False})  # fmt: skip
        e["day"] = min(e["day"], r.posted_date)
        amt = Decimal(str(r.amount)) if pd.notna(r.amount) else Decimal(0)
        if r.amount_type == "ItemPrice" and r.amount_description == "Principal":
            e["p"] -= amt
            e["has_p"] = True
        elif r.amount_type == "ItemFees" and r.amount_description == "Commission":
            e["c"] += amt
            e["has_c"] = True
        elif r.amount_type == "ItemFees" and r.amount_description == "RefundCommission":
            e["f"] -= amt
            e["has_f"] = True
    returned: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in ret.itertuples():
        returned[r.marketplace, r.order_id, r.sku] += int(r.quantity)
    pay: dict[tuple[str, str], int] = defaultdict(int)
    pay_dmg: dict[tuple[str, str], int] = defaultdict(int)
    for r in paid.itertuples():
        if r.amazon_order_id:
            if r.reason in CUSTOMER:
                pay[r.marketplace, r.amazon_order_id] += int(r.quantity_reimbursed_total)
            if r.reason in CUSTOMER | {"Damaged_Warehouse"}:
                pay_dmg[r.marketplace, r.amazon_order_id] += int(r.quantity_reimbursed_total)
    used: dict[tuple[str, str], int] = defaultdict(int)
    first_refund: dict[tuple[str, str, str], tuple[Any, Decimal, int]] = {}
    by_item: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for (m, o, s, a), e in sorted(ev.items(), key=lambda kv: (kv[1]["day"], kv[0][3])):
        if not e["has_p"]:
            continue
        order = order_of.get((m, o, s))
        units = 0
        if order:
            cents_r, cents_o = int(e["p"] * 100), int(order[0] * 100)
            units = (2 * cents_r * order[1] + cents_o) // (2 * cents_o)
        by_item[m, o, s].append((e, units, a))
        if (m, o, s) not in first_refund:
            first_refund[m, o, s] = (
                (e["day"], e["p"], units)
                if units > 0
                else (e["day"], order[0] if order else None, order[1] if order else 0)
            )
        if not e["afn"] or units <= 0:
            continue
        r_units = min(units, returned[m, o, s])
        returned[m, o, s] -= r_units
        p_units = min(units - r_units, pay[m, o] - used[m, o])
        used[m, o] += p_units
        owed = units - r_units - p_units
        if owed > 0:
            unit = cents(e["p"] / units)
            add(
                "return_not_received",
                m,
                fnsku_of.get((m, s), ""),
                e["day"],
                owed,
                unit,
                unit * owed,
                "refund_principal",
                order_id=o,
            )
    # Damaged returns: by order first, then payments with no order FIFO per FNSKU.
    dpools: dict[tuple[str, str], Pool] = defaultdict(Pool)
    dinfo = {}
    avail = {k: v - used.get(k, 0) for k, v in pay_dmg.items()}
    for r in ret.sort_values(["return_date", "file_id", "line"]).itertuples():
        if r.detailed_disposition in ("CUSTOMER_DAMAGED", "DEFECTIVE"):
            continue
        if r.detailed_disposition not in ("DAMAGED", "CARRIER_DAMAGED") and r.reason not in (
            "DAMAGED_BY_FC",
            "DAMAGED_BY_CARRIER",
        ):
            continue
        take = min(int(r.quantity), max(0, avail.get((r.marketplace, r.order_id), 0)))
        avail[r.marketplace, r.order_id] = avail.get((r.marketplace, r.order_id), 0) - take
        refund = first_refund.get((r.marketplace, r.order_id, r.sku))
        clock = refund[0] if refund else r.return_date
        key = (r.file_id, r.line)
        dpools[r.marketplace, r.fnsku].add(clock, key, int(r.quantity) - take, key)
        dinfo[key] = (r, clock, refund)
    for pool in dpools.values():
        pool.ready()
    blank = spare_damaged + [
        (r.approval_date, r.reimbursement_id, r.file_id, r.line, r.marketplace, r.fnsku, int(r.quantity_reimbursed_total))
        for r in paid.itertuples() if not r.amazon_order_id and r.reason in CUSTOMER]  # fmt: skip
    for day, _, _, _, m, f, units in sorted(blank):
        dpools[m, f].cancel(day, units)
    for pool in dpools.values():
        for key, owed in pool.left().items():
            if owed > 0:
                r, clock, refund = dinfo[key]
                if refund and refund[1] is not None and refund[2]:
                    unit, basis = cents(refund[1] / refund[2]), "refund_principal"
                else:
                    unit, basis = median_price(r.marketplace, r.sku), "sale_price"
                add(
                    "return_damaged_by_amazon",
                    r.marketplace,
                    r.fnsku,
                    clock,
                    owed,
                    unit,
                    unit * owed,
                    basis,
                    order_id=r.order_id,
                )

    # Refund overcharge.
    for (m, o, s), refs in by_item.items():
        excess = Decimal(0)
        order = order_of.get((m, o, s))
        refunded = sum((e["p"] for e, _, _ in refs), Decimal(0))
        if order and refunded - order[0] > Decimal("0.01"):
            excess += refunded - order[0]
        for e, _, _ in refs:
            if e["has_c"] and e["has_f"]:
                allowed = min(Decimal(5), e["c"] * Decimal("0.2")).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
                if e["f"] - allowed > Decimal("0.01"):
                    excess += e["f"] - allowed
        if excess > 0:
            add(
                "refund_overcharge",
                m,
                fnsku_of.get((m, s), ""),
                min(e["day"] for e, _, _ in refs),
                0,
                excess,
                excess,
                "fee_difference",
                order_id=o,
            )

    # Inbound, removals.
    receipts = led[(led["event_type"] == "Receipts")]
    last = receipts.groupby(["marketplace", "reference_id"])["date"].max().to_dict()
    closed = {
        (r.marketplace, r.shipment_id) for r in ships.itertuples() if r.shipment_status == "CLOSED"
    }
    ipools: dict[tuple[str, str], Pool] = defaultdict(Pool)
    iinfo = {}
    for r in items.itertuples():
        key = (r.marketplace, r.shipment_id)
        if key in closed and key in last:
            short = int(r.quantity_shipped) - int(r.quantity_received)
            if short > 0:
                ipools[r.marketplace, r.fnsku].add(
                    last[key], (r.file_id, r.line), short, (r.file_id, r.line)
                )
                iinfo[r.file_id, r.line] = (r, last[key])
    rpools: dict[tuple[str, str], Pool] = defaultdict(Pool)
    rinfo = {}
    for r in removals[
        (removals["order_type"] == "Return") & (removals["order_status"] == "Completed")
    ].itertuples():
        short = (
            int(r.requested_quantity)
            - int(r.cancelled_quantity)
            - int(r.disposed_quantity)
            - int(r.shipped_quantity)
        )
        if short > 0:
            rpools[r.marketplace, r.fnsku].add(
                r.last_updated_date, (r.file_id, r.line), short, (r.file_id, r.line)
            )
            rinfo[r.file_id, r.line] = r
    for pool in [*ipools.values(), *rpools.values()]:
        pool.ready()
    for r in paid.itertuples():
        if r.reason in ("Lost_Inbound", "Damaged_Inbound"):
            ipools[r.marketplace, r.fnsku].cancel(r.approval_date, int(r.quantity_reimbursed_total))
        elif r.reason == "Lost_Outbound":
            rpools[r.marketplace, r.fnsku].cancel(r.approval_date, int(r.quantity_reimbursed_total))
    for pool in ipools.values():
        for key, owed in pool.left().items():
            if owed > 0:
                r, day = iinfo[key]
                unit, amount, basis = valued(r.marketplace, r.seller_sku, day, owed)
                add(
                    "inbound_shortage",
                    r.marketplace,
                    r.fnsku,
                    day,
                    owed,
                    unit,
                    amount,
                    basis,
                    shipment_id=r.shipment_id,
                )
    for pool in rpools.values():
        for key, owed in pool.left().items():
            if owed > 0:
                r = rinfo[key]
                unit, amount, basis = valued(r.marketplace, r.sku, r.last_updated_date, owed)
                add(
                    "removal_short",
                    r.marketplace,
                    r.fnsku,
                    r.last_updated_date,
                    owed,
                    unit,
                    amount,
                    basis,
                    removal_order_id=r.order_id,
                )

    # Underpaid.
    reasons = {
        "Lost_Warehouse",
        "Damaged_Warehouse",
        "Lost_Inbound",
        "Damaged_Inbound",
        "Lost_Outbound",
    }
    for r in rb.itertuples():
        since = COST_BASIS.get(r.marketplace)
        if (
            since is None
            or r.reason not in reasons
            or not r.quantity_reimbursed_cash > 0
            or r.approval_date < since
        ):
            continue
        c = cost(r.marketplace, r.sku, r.approval_date)
        per_unit = Decimal(str(r.amount_per_unit))
        if c is not None and per_unit < c * Decimal("0.95"):
            add("reimbursement_underpaid", r.marketplace, r.fnsku, r.approval_date, int(r.quantity_reimbursed_cash),
                c - per_unit, cents((c - per_unit) * int(r.quantity_reimbursed_cash)), "sourcing_cost",
                reimbursement_id=r.reimbursement_id, order_id=r.amazon_order_id or "")  # fmt: skip
    return found
