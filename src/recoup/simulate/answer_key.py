"""The findings a careful auditor must produce for a simulated account, from its true events.

Computed from the events the simulator made (and only those the seller's downloads show), never
by running recoup's rules, so that comparing the two catches the rules' mistakes. Each kind
follows its section of audit-rules.md; allocation is FIFO per principle 5.

A partial account (reports dropped or cut, `partial.py`) is audited from `partial.visible`: the
events its written files show, so a row that was not downloaded never cancels anything and a
rule whose source report is missing finds nothing. Proof of absence (principle 11) is modelled
per import group in `key_coverage.py`: the complete reports imported in one command, each cut
report in its own (`Simulated.import_groups`); a group's files cover its first to last row date
of any dated report, a file without rows covers nothing. A finding whose cancelling reports do
not cover the days it needs is `unverified`, and `needs` names them (blank otherwise).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from recoup.money import cents
from recoup.simulate.account import Account
from recoup.simulate.catalog import Product
from recoup.simulate.events import (
    Adjustment,
    Cited,
    CustomerReturn,
    Reimbursement,
    sale_amounts,
)
from recoup.simulate.incidents import US_COST_BASIS
from recoup.simulate.key_windows import state, window

COLUMNS = [
    "finding_id", "kind", "marketplace", "fnsku", "msku", "asin", "fulfillment_center",
    "reference_id", "order_id", "shipment_id", "removal_order_id", "reimbursement_id",
    "event_date", "quantity", "unit_value", "amount", "currency", "value_basis",
    "window_opens", "window_closes", "state", "evidence", "needs",
]  # fmt: skip
LOST = {"M", "5"}
DAMAGED = {"E", "6", "7", "H", "K", "U"}
DISPOSED = {"D", "G"}
COST_BASIS_FROM = {"US": US_COST_BASIS, "UK": dt.date(2025, 3, 10)}
ZERO = Decimal("0.00")


@dataclass
class Finding:
    kind: str
    product: Product
    event_date: dt.date
    quantity: int
    unit_value: Decimal
    amount: Decimal
    value_basis: str
    evidence: Sequence[Cited]
    fulfillment_center: str = ""
    reference_id: str = ""
    order_id: str = ""
    shipment_id: str = ""
    removal_order_id: str = ""
    reimbursement_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def record(self, account: Account) -> dict[str, object]:
        market = account.market.code
        opens, closes = window(self.kind, market, self.event_date)
        ids = [self.reference_id, self.order_id, self.shipment_id, self.removal_order_id,
               self.reimbursement_id]  # fmt: skip
        key = "|".join([self.kind, market, self.product.fnsku, *ids, str(self.event_date)])
        return {
            "finding_id": hashlib.sha256(key.encode()).hexdigest()[:16],
            "kind": self.kind,
            "marketplace": market,
            "fnsku": self.product.fnsku,
            "msku": self.product.sku,
            "asin": self.product.asin,
            "fulfillment_center": self.fulfillment_center,
            "reference_id": self.reference_id,
            "order_id": self.order_id,
            "shipment_id": self.shipment_id,
            "removal_order_id": self.removal_order_id,
            "reimbursement_id": self.reimbursement_id,
            "event_date": self.event_date.isoformat(),
            "quantity": self.quantity,
            "unit_value": f"{self.unit_value:.2f}",
            "amount": f"{self.amount:.2f}",
            "currency": account.market.currency,
            "value_basis": self.value_basis,
            "window_opens": opens.isoformat(),
            "window_closes": closes.isoformat(),
            "state": state(opens, closes, account.config.as_of),
            "evidence": [row.evidence() for row in self.evidence],
            "needs": "",  # filled in for the whole account (key_coverage.resolve)
        }


@dataclass(eq=False)
class Candidate:
    day: dt.date
    units: int
    what: object
    tie: str = ""  # its own identifier, which orders candidates of one day


class Pool:
    """Open candidate units of one FNSKU, oldest first; cancellers take from the oldest.
    Candidates of one day go in the order of their own identifier `tie` (principle 5: a shipment
    id, a removal order id, a license plate number), then in the order they were added (ledger
    rows: file and line order)."""

    def __init__(self) -> None:
        self.open: list[Candidate] = []

    def add(self, day: dt.date, units: int, what: object, tie: str = "") -> None:
        self.open.append(Candidate(day, units, what, tie))
        self.open.sort(key=lambda c: (c.day, c.tie))

    def cancel(self, day: dt.date, units: int) -> int:
        """Take up to `units` from candidates dated on or before `day`; return what is left."""
        for candidate in self.open:
            if units <= 0 or candidate.day > day:
                break
            taken = min(units, candidate.units)
            candidate.units -= taken
            units -= taken
        return units

    def left(self, what: object) -> int:
        return sum(c.units for c in self.open if c.what is what)


def cost_on(account: Account, product: Product, day: dt.date) -> Decimal:
    """The sourcing cost in force on `day` (the seller's cost file the simulator wrote)."""
    change = account.config.cost_change_day
    return product.later_cost if product.later_cost is not None and day >= change else product.cost


def _valued(
    account: Account, product: Product, day: dt.date, units: int
) -> tuple[Decimal, Decimal]:
    unit = cost_on(account, product, day)
    return unit, cents(unit * units)


def expected_findings(account: Account) -> list[dict[str, object]]:
    found: list[Finding] = []
    explained = _explained_reversals(account)
    units = _refund_units(account)
    net = _net_units(account, explained)
    leftovers = _warehouse(account, found, explained)
    used_by_returns = _return_not_received(account, found, units, net)
    _return_damaged(account, found, units, used_by_returns, leftovers, net=net)
    _inbound(account, found, net)
    _removals(account, found, net)
    _underpaid(account, found)
    _reversals(account, found, explained)
    _refund_overcharge(account, found)
    return [f.record(account) for f in found]  # `simulate` sorts the whole account's


# -- warehouse kinds ---------------------------------------------------------------------------


def _unseen_original(reversal: Reimbursement) -> Reimbursement:
    """A reversal's original that is not in the downloads: only its printed reason is known."""
    return Reimbursement(reversal.original_id, dt.date.min, reversal.original_reason,
                         reversal.product, 0, 0, ZERO, ZERO, reversal.row)  # fmt: skip


def _explained_reversals(account: Account) -> dict[str, int]:
    """Reversed units explained by found units, per reversal id (principle 7 and the
    `reversal_unmatched` section): each takes the oldest unused F/N units of its FNSKU dated from
    the original's approval to the reversal + 7 days."""
    originals = {r.reimbursement_id: r for r in account.reimbursements}
    # Per FNSKU: (day, ledger before returns, file order) -> units left, the return row if any.
    explaining: dict[str, list[tuple[tuple[dt.date, int, int], list[int], CustomerReturn | None]]]
    explaining = defaultdict(list)
    for number, adjustment in enumerate(account.adjustments):
        if adjustment.reason in ("F", "N") and adjustment.quantity > 0:
            explaining[adjustment.product.fnsku].append(
                ((adjustment.day, 0, number), [adjustment.quantity], None)
            )
    for number, back in enumerate(account.returns):
        explaining[back.order.product.fnsku].append(((back.day, 1, number), [back.quantity], back))
    for units in explaining.values():
        units.sort(key=lambda u: u[0])
    explained: dict[str, int] = {}
    reversals = sorted(
        (r for r in account.reimbursements if r.reason == "Reimbursement_Reversal"),
        key=lambda r: (r.day, r.reimbursement_id),
    )
    for reversal in reversals:
        # An original the seller did not download: any day from the start, its printed reason.
        original = originals.get(reversal.original_id) or _unseen_original(reversal)
        want = abs(reversal.quantity_total)
        got = 0
        for (day, _, _), left, returned in explaining[reversal.product.fnsku]:
            if got >= want:
                break
            if not original.day <= day <= reversal.day + dt.timedelta(days=7):
                continue
            if returned is not None and (
                original.reason not in ("CustomerReturn", "CustomerServiceIssue")
                or returned.order.order_id != original.order_id
            ):
                continue
            taken = min(want - got, left[0])
            left[0] -= taken
            got += taken
        explained[reversal.reimbursement_id] = got
    return explained


def _net_units(account: Account, explained: dict[str, int]) -> dict[str, int]:
    """Each payment's units less its reversed units that found units explain (principle 7: the
    loss really was found, so they cancel nothing, in every kind, the return kinds included)."""
    back: dict[str, int] = defaultdict(int)
    for r in account.reimbursements:
        if r.reason == "Reimbursement_Reversal":
            back[r.original_id] += explained.get(r.reimbursement_id, 0)
    return {
        r.reimbursement_id: max(0, r.quantity_total - back[r.reimbursement_id])
        for r in account.reimbursements
        if r.reason != "Reimbursement_Reversal"
    }


Leftovers = dict[str, list[tuple[dt.date, int, str]]]


def _warehouse(account: Account, found: list[Finding], explained: dict[str, int]) -> Leftovers:
    """Lost, damaged and disposed units; returns the warehouse reimbursement units left over per
    FNSKU (they go on to the return kinds' FIFO, principle 6)."""
    as_of = account.config.as_of
    for adjustment in account.adjustments:
        if adjustment.reason in LOST | DAMAGED and adjustment.unreconciled > 0:
            units = adjustment.unreconciled
            if adjustment.reason in LOST | {"E"}:
                unit, amount = _valued(account, adjustment.product, adjustment.day, units)
                basis = "sourcing_cost"
            else:
                unit, amount, basis = ZERO, ZERO, "unsellable"
            found.append(
                Finding(
                    "warehouse_lost" if adjustment.reason in LOST else "warehouse_damaged",
                    adjustment.product,
                    adjustment.day,
                    units,
                    unit,
                    amount,
                    basis,
                    [adjustment.row],
                    fulfillment_center=adjustment.product.fulfillment_center,
                    reference_id=adjustment.reference_id,
                )
            )
    # Reimbursement units by FIFO over abs(Quantity) of the warehouse rows (principle 6).
    reversed_of: dict[str, int] = defaultdict(int)
    for r in account.reimbursements:
        if r.reason == "Reimbursement_Reversal":
            reversed_of[r.original_id] += explained.get(r.reimbursement_id, 0)
    pools: dict[tuple[str, str], Pool] = defaultdict(Pool)
    disposals: dict[str, Pool] = defaultdict(Pool)
    by_fnsku: dict[str, list[Adjustment]] = defaultdict(list)
    for adjustment in account.adjustments:
        fnsku = adjustment.product.fnsku
        if adjustment.reason in LOST:
            pools[fnsku, "Lost_Warehouse"].add(adjustment.day, -adjustment.quantity, adjustment)
        elif adjustment.reason in DAMAGED:
            pools[fnsku, "Damaged_Warehouse"].add(adjustment.day, -adjustment.quantity, adjustment)
        elif adjustment.reason in DISPOSED:
            disposals[fnsku].add(adjustment.day, -adjustment.quantity, adjustment)
            by_fnsku[fnsku].append(adjustment)
    # Disposal removal orders cancel disposals dated on or after their request.
    for order in sorted(account.removals, key=lambda o: o.request_day):
        if order.order_type in ("Disposal", "Liquidation"):
            pool = disposals[order.product.fnsku]
            units = order.requested - order.cancelled
            for candidate in pool.open:
                if units <= 0:
                    break
                if candidate.day >= order.request_day:
                    taken = min(units, candidate.units)
                    candidate.units -= taken
                    units -= taken
    leftovers: Leftovers = defaultdict(list)
    paid = sorted(
        (r for r in account.reimbursements
         if r.reason in ("Lost_Warehouse", "Damaged_Warehouse") and r.day <= as_of),
        key=lambda r: (r.day, r.reimbursement_id),
    )  # fmt: skip
    for r in paid:
        units = r.quantity_total - reversed_of[r.reimbursement_id]
        units = pools[r.product.fnsku, r.reason].cancel(r.day, units)
        units = disposals[r.product.fnsku].cancel(r.day, units)
        if units > 0:
            leftovers[r.product.fnsku].append((r.day, units, r.reason))
    for fnsku, adjustments in by_fnsku.items():
        for adjustment in adjustments:
            units = disposals[fnsku].left(adjustment)
            if units > 0:
                unit, amount = _valued(account, adjustment.product, adjustment.day, units)
                found.append(
                    Finding(
                        "disposed_unauthorized",
                        adjustment.product,
                        adjustment.day,
                        units,
                        unit,
                        amount,
                        "sourcing_cost",
                        [adjustment.row],
                        fulfillment_center=adjustment.product.fulfillment_center,
                        reference_id=adjustment.reference_id,
                    )
                )
    return leftovers


# -- returns -------------------------------------------------------------------------------------


def _refund_units(account: Account) -> dict[str, tuple[int, Decimal]]:
    """Units and per-unit value of every settled refund event (by adjustment id)."""
    medians: dict[str, list[Decimal]] = defaultdict(list)
    for sale in account.settled_sales():
        principal = sale_amounts(sale.product, sale.quantity)[0][2]
        medians[sale.product.sku].append(principal / sale.quantity)
    units: dict[str, tuple[int, Decimal]] = {}
    for refund in account.refunds:
        if not refund.settled:
            continue
        order = refund.order
        if order.settled:
            price = order.principal / order.quantity
        else:
            prices = sorted(medians[order.product.sku])
            if not prices:
                continue  # no sale price known (settlements cut): no units to count
            middle = len(prices) // 2
            price = prices[middle] if len(prices) % 2 else (prices[middle - 1] + prices[middle]) / 2
        count = int((refund.principal / price).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if refund.principal * 2 < price or count < 1:
            continue  # a concession, not a return
        units[refund.adjustment_id] = (count, cents(refund.principal / count))
    return units


def _plate(back: CustomerReturn) -> str:
    """A customer-returns row's own identifier (principle 5's order among rows of one day)."""
    return str(back.row.values["license_plate_number"])


def _order_reimbursements(account: Account, reasons: set[str]) -> dict[str, list[Reimbursement]]:
    by_order: dict[str, list[Reimbursement]] = defaultdict(list)
    for r in sorted(account.reimbursements, key=lambda r: (r.day, r.reimbursement_id)):
        if r.order_id and r.reason in reasons and r.quantity_total > 0:
            by_order[r.order_id].append(r)
    return by_order


def _return_not_received(
    account: Account,
    found: list[Finding],
    units: dict[str, tuple[int, Decimal]],
    net: dict[str, int],
) -> dict[str, int]:
    """Returns the reimbursement units each order used here (not available to damaged returns).
    A payment counts its units net of reversed units that found units explain (principle 7)."""
    returned: dict[str, int] = defaultdict(int)
    for back in account.returns:
        returned[back.order.order_id] += back.quantity
    paid = _order_reimbursements(account, {"CustomerReturn", "CustomerServiceIssue"})
    paid_units = {order: sum(net[r.reimbursement_id] for r in rs) for order, rs in paid.items()}
    used: dict[str, int] = defaultdict(int)
    for refund in sorted(account.refunds, key=lambda r: (r.day, r.adjustment_id)):
        if refund.adjustment_id not in units:
            continue
        order_id = refund.order.order_id
        count, per_unit = units[refund.adjustment_id]
        by_return = min(count, returned[order_id])
        returned[order_id] -= by_return
        by_payment = min(count - by_return, paid_units.get(order_id, 0) - used[order_id])
        used[order_id] += by_payment
        owed = count - by_return - by_payment
        if owed > 0:
            found.append(
                Finding(
                    "return_not_received",
                    refund.order.product,
                    refund.day,
                    owed,
                    per_unit,
                    per_unit * owed,
                    "refund_principal",
                    [refund.cite(0)],
                    order_id=order_id,
                )
            )
    return used


def _return_damaged(
    account: Account,
    found: list[Finding],
    units: dict[str, tuple[int, Decimal]],
    used: dict[str, int],
    leftovers: Leftovers,
    *,
    net: dict[str, int],
) -> None:
    refunds: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for refund in account.refunds:
        if refund.settled:
            order = refund.order
            _, per_unit = units.get(refund.adjustment_id, (0, order.principal / order.quantity))
            refunds[order.order_id].append((refund.day, cents(per_unit)))
    sold = {sale.product.sku for sale in account.settled_sales()}
    paid = _order_reimbursements(
        account, {"CustomerReturn", "Damaged_Warehouse", "CustomerServiceIssue"}
    )
    available = {
        o: sum(net[r.reimbursement_id] for r in rs) - used.get(o, 0) for o, rs in paid.items()
    }
    pools: dict[str, Pool] = defaultdict(Pool)
    candidates = []
    # An order's damaged returns take its payments by return date, then license plate number.
    for back in sorted(account.returns, key=lambda b: (b.day, _plate(b))):
        if back.disposition in ("CUSTOMER_DAMAGED", "DEFECTIVE"):
            continue
        if back.disposition not in ("DAMAGED", "CARRIER_DAMAGED") and back.reason not in (
            "DAMAGED_BY_FC",
            "DAMAGED_BY_CARRIER",
        ):
            continue
        order_id = back.order.order_id
        taken = min(back.quantity, max(0, available.get(order_id, 0)))
        available[order_id] = available.get(order_id, 0) - taken
        known = sorted(refunds.get(order_id, []))
        clock = known[0][0] if known else back.day
        pools[back.order.product.fnsku].add(clock, back.quantity - taken, back, _plate(back))
        candidates.append((back, clock, known))
    # Without an order id: Damaged_Warehouse units the warehouse kinds left over (principle 6),
    # and customer-return payments that name no order, FIFO per FNSKU.
    blank = [(day, n, fnsku) for fnsku, left in leftovers.items()
             for day, n, reason in left if reason == "Damaged_Warehouse"]  # fmt: skip
    blank += [
        (r.day, net[r.reimbursement_id], r.product.fnsku)
        for r in account.reimbursements
        if not r.order_id
        and r.reason in ("CustomerReturn", "CustomerServiceIssue")
        and r.quantity_total > 0
    ]
    for day, count, fnsku in sorted(blank):
        pools[fnsku].cancel(day, count)
    for back, clock, known in candidates:
        owed = pools[back.order.product.fnsku].left(back)
        if owed <= 0:
            continue
        product = back.order.product
        unit, basis = (known[0][1], "refund_principal") if known else _sale_price(product, sold)
        found.append(
            Finding(
                "return_damaged_by_amazon",
                product,
                clock,
                owed,
                unit,
                unit * owed,
                basis,
                [back.row],
                fulfillment_center=product.fulfillment_center,
                order_id=back.order.order_id,
            )
        )


def _sale_price(product: Product, sold: set[str]) -> tuple[Decimal, str]:
    """The SKU's median sale price (every sale is at its price), when a settlement shows one."""
    return (product.price, "sale_price") if product.sku in sold else (ZERO, "unknown")


# -- inbound and removals ------------------------------------------------------------------------


def _inbound(account: Account, found: list[Finding], net: dict[str, int]) -> None:
    pools: dict[str, Pool] = defaultdict(Pool)
    candidates = []
    for shipment in account.shipments:
        last = shipment.last_receipt
        if shipment.status != "CLOSED":
            continue
        if last is None:  # no receipt downloaded: the as-of date of the audit that saw it CLOSED
            last = account.config.as_of
        for item in shipment.items:
            short = item.shipped - item.received
            if short > 0:
                pools[item.product.fnsku].add(last, short, item, shipment.shipment_id)
                candidates.append((shipment, item, last))
    _cancel(account, pools, {"Lost_Inbound", "Damaged_Inbound"}, net)
    for shipment, item, last in candidates:
        owed = pools[item.product.fnsku].left(item)
        if owed > 0:
            unit, amount = _valued(account, item.product, last, owed)
            evidence = [r for r in (shipment.row, item.row) if r is not None]
            evidence += [receipt[3] for receipt in shipment.receipts]
            found.append(
                Finding(
                    "inbound_shortage",
                    item.product,
                    last,
                    owed,
                    unit,
                    amount,
                    "sourcing_cost",
                    evidence,
                    fulfillment_center=item.product.fulfillment_center,
                    shipment_id=shipment.shipment_id,
                )
            )


def _cancel(
    account: Account, pools: dict[str, Pool], reasons: set[str], net: dict[str, int]
) -> None:
    for r in sorted(account.reimbursements, key=lambda r: (r.day, r.reimbursement_id)):
        if r.reason in reasons and r.quantity_total > 0:
            pools[r.product.fnsku].cancel(r.day, net[r.reimbursement_id])


def _removals(account: Account, found: list[Finding], net: dict[str, int]) -> None:
    pools: dict[str, Pool] = defaultdict(Pool)
    candidates = []
    for order in account.removals:
        short = order.requested - order.cancelled - order.disposed - order.shipped
        if order.order_type == "Return" and order.status == "Completed" and short > 0:
            pools[order.product.fnsku].add(order.last_updated, short, order, order.order_id)
            candidates.append(order)
    _cancel(account, pools, {"Lost_Outbound"}, net)
    for order in candidates:
        owed = pools[order.product.fnsku].left(order)
        if owed > 0:
            unit, amount = _valued(account, order.product, order.last_updated, owed)
            found.append(
                Finding(
                    "removal_short",
                    order.product,
                    order.last_updated,
                    owed,
                    unit,
                    amount,
                    "sourcing_cost",
                    [order.row],
                    removal_order_id=order.order_id,
                )
            )


# -- money kinds ---------------------------------------------------------------------------------


def _underpaid(account: Account, found: list[Finding]) -> None:
    since = COST_BASIS_FROM.get(account.market.code)
    if since is None:
        return
    reasons = {"Lost_Warehouse", "Damaged_Warehouse", "Lost_Inbound", "Damaged_Inbound",
               "Lost_Outbound"}  # fmt: skip
    for r in account.reimbursements:
        if r.reason not in reasons or r.quantity_cash <= 0 or r.day < since:
            continue
        cost = cost_on(account, r.product, r.day)
        if r.amount_per_unit < cost * Decimal("0.95"):
            gap = cost - r.amount_per_unit
            found.append(
                Finding(
                    "reimbursement_underpaid",
                    r.product,
                    r.day,
                    r.quantity_cash,
                    gap,
                    cents(gap * r.quantity_cash),
                    "sourcing_cost",
                    [r.row],
                    reimbursement_id=r.reimbursement_id,
                    order_id=r.order_id,
                )
            )


def _reversals(account: Account, found: list[Finding], explained: dict[str, int]) -> None:
    for r in account.reimbursements:
        if r.reason != "Reimbursement_Reversal":
            continue
        reversed_units = abs(r.quantity_total)
        owed = reversed_units - explained[r.reimbursement_id]
        if owed > 0:
            amount = cents(abs(r.amount_total) * owed / reversed_units)
            found.append(
                Finding(
                    "reversal_unmatched",
                    r.product,
                    r.day,
                    owed,
                    cents(abs(r.amount_total) / reversed_units),
                    amount,
                    "reversal",
                    [r.row],
                    reimbursement_id=r.reimbursement_id,
                    order_id=r.order_id,
                )
            )


def _refund_overcharge(account: Account, found: list[Finding]) -> None:
    by_order: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for refund in account.refunds:
        if refund.settled:
            by_order[refund.order.order_id].append(refund)
    for refunds in by_order.values():
        order = refunds[0].order
        excess = ZERO
        evidence: list[Cited] = []
        if order.settled:
            refunded = sum((r.principal for r in refunds), ZERO)
            if refunded - order.principal > Decimal("0.01"):
                excess += refunded - order.principal
                evidence += [order.cite(0), *(r.cite(0) for r in refunds)]
        for refund in refunds:
            allowed = cents(min(Decimal(5), refund.commission_refunded * Decimal("0.2")))
            if refund.refund_commission - allowed > Decimal("0.01"):
                excess += refund.refund_commission - allowed
                evidence.append(refund.cite(2))
        if excess > 0:
            first = min(r.day for r in refunds)
            found.append(
                Finding(
                    "refund_overcharge",
                    order.product,
                    first,
                    0,
                    excess,
                    excess,
                    "fee_difference",
                    evidence,
                    order_id=order.order_id,
                )
            )
