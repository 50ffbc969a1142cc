"""What the seller downloaded: a report left out (`drop`), or downloaded from a day on (`cut`).

`SimConfig.drop` names reports whose files are not written; `SimConfig.cut` names reports whose
rows dated before a day are not written (each report's own row date: the ledger's date, a
reimbursement's approval date, a return's return date, a removal order's request date, a removal
shipment's shipment date, a settlement line's posted date). The events still happen; the
seller just cannot see them, so the answer key is computed from `visible(account)`: the events
the written files show. Report names are recoup's canonical table names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from recoup.simulate.account import Account, SimConfig
from recoup.simulate.events import Order, Sale

# Reports with a row date: they can be cut, and a file of them covers days (principle 11).
DATED = ("ledger_detail", "reimbursements", "customer_returns", "removal_orders",
         "removal_shipments", "settlements")  # fmt: skip
# Snapshots without dates can only be left out. The seller's cost file is always there: the
# answer key values units at sourcing cost.
DROPPABLE = (*DATED, "inbound_shipments", "inbound_shipment_items")
ALIASES = {"removals": ("removal_orders", "removal_shipments")}


def report_names(text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A report name as the options take it (`removals`: both removal reports)."""
    name = text.strip().lower().replace("-", "_")
    names = ALIASES.get(name, (name,))
    for one in names:
        if one not in allowed:
            raise ValueError(f"unknown report {text!r}: one of {', '.join(allowed)}, or removals")
    return names


def parse_drop(texts: Iterable[str]) -> tuple[str, ...]:
    """`--drop` values -> report names."""
    names: list[str] = []
    for text in texts:
        names += report_names(text, DROPPABLE)
    return tuple(dict.fromkeys(names))


def parse_cut(texts: Iterable[str]) -> tuple[tuple[str, dt.date], ...]:
    """`--cut REPORT:YYYY-MM-DD` values -> (report, first day downloaded)."""
    cuts: list[tuple[str, dt.date]] = []
    for text in texts:
        report, _, day = text.partition(":")
        try:
            first = dt.date.fromisoformat(day.strip())
        except ValueError:
            raise ValueError(
                f"{text!r}: write REPORT:YYYY-MM-DD, e.g. reimbursements:2026-06-01"
            ) from None
        cuts += [(name, first) for name in report_names(report, DATED)]
    return tuple(cuts)


@dataclass(frozen=True)
class Download:
    """Which rows of which reports the seller's files hold."""

    dropped: frozenset[str] = frozenset()
    cuts: dict[str, dt.date] = field(default_factory=dict)

    @classmethod
    def of(cls, config: SimConfig) -> Download:
        check(config)
        return cls(frozenset(config.drop), dict(config.cut))

    @property
    def partial(self) -> bool:
        return bool(self.dropped or self.cuts)

    def written(self, report: str) -> bool:
        return report not in self.dropped

    def shows(self, report: str, day: object) -> bool:
        """Whether a row of `report` dated `day` is in the seller's files."""
        if report in self.dropped:
            return False
        cut = self.cuts.get(report)
        return cut is None or not isinstance(day, dt.date) or day >= cut


def check(config: SimConfig) -> None:
    """A ValueError names what is wrong with the config's `drop` and `cut`."""
    for report in config.drop:
        if report not in DROPPABLE:
            raise ValueError(f"cannot drop {report!r}: one of {', '.join(DROPPABLE)}")
    seen: set[str] = set()
    for report, day in config.cut:
        if report not in DATED:
            raise ValueError(f"cannot cut {report!r}: one of {', '.join(DATED)}")
        if report in seen:
            raise ValueError(f"{report} is cut twice")
        if report in config.drop:
            raise ValueError(f"{report} is both dropped and cut")
        if not isinstance(day, dt.date):
            raise ValueError(f"the cut of {report} is not a date: {day!r}")
        seen.add(report)


@dataclass
class Seen(Account):
    """The account as the seller's (partial) downloads show it."""

    download: Download = field(default_factory=Download)

    def settled_sales(self) -> list[Sale]:
        shows = self.download.shows
        return [s for s in super().settled_sales() if shows("settlements", s.day)]


def visible(account: Account) -> Account:
    """The events the written files show (the account itself when nothing is left out).

    A settlement line before a settlements cut is not there: its order or refund is then "not
    settled" (not imported). A shipment keeps its snapshot rows (status, quantities) but only
    the ledger receipts the seller has; without either inbound report there are no shipments.
    """
    download = Download.of(account.config)
    if not download.partial:
        return account
    shows = download.shows
    orders: dict[int, Order] = {}
    for order in account.orders:
        if order.settlement_id and not shows("settlements", order.day):
            orders[id(order)] = replace(order, settlement_id="")

    def order_of(order: Order) -> Order:
        return orders.get(id(order), order)

    refunds = []
    for refund in account.refunds:
        settled = refund.settlement_id if shows("settlements", refund.day) else ""
        if settled != refund.settlement_id or id(refund.order) in orders:
            refunds.append(replace(refund, order=order_of(refund.order), settlement_id=settled))
        else:
            refunds.append(refund)
    returns = [
        replace(back, order=order_of(back.order)) if id(back.order) in orders else back
        for back in account.returns
        if shows("customer_returns", back.day)
    ]
    shipments = []
    if download.written("inbound_shipments") and download.written("inbound_shipment_items"):
        for shipment in account.shipments:
            receipts = [r for r in shipment.receipts if shows("ledger_detail", r[0])]
            same = len(receipts) == len(shipment.receipts)
            shipments.append(shipment if same else replace(shipment, receipts=receipts))
    return Seen(
        account.config,
        account.market,
        account.products,
        rows=account.rows,
        adjustments=[a for a in account.adjustments if shows("ledger_detail", a.day)],
        reimbursements=[r for r in account.reimbursements if shows("reimbursements", r.day)],
        orders=[order_of(o) for o in account.orders],
        refunds=refunds,
        returns=returns,
        removals=[o for o in account.removals if shows("removal_orders", o.request_day)],
        shipments=shipments,
        sales=account.sales,
        download=download,
    )
