"""The simulated account: its configuration, its record of events and its settlement calendar.

`SimConfig` says which account to simulate; `Account` holds what happened to (some of) its
products, as `seller.Seller` records it and `downloads` completes it. Settlements close every
`SETTLEMENT_DAYS` days from the config's start; only those closed by the as-of date exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from recoup.simulate.catalog import Product
from recoup.simulate.events import (
    Adjustment,
    CustomerReturn,
    InboundShipment,
    Order,
    Refund,
    Reimbursement,
    RemovalOrder,
    Row,
    Sale,
    Values,
)
from recoup.simulate.markets import Market

SETTLEMENT_DAYS = 14


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    months: int = 14
    marketplace: str = "US"
    as_of: dt.date = dt.date(2026, 11, 28)
    scale: float = 1.0  # 1.0: 40 products, about 30 thousand ledger rows over 14 months
    # A partial download (`partial.py`): reports not written, and (report, first day written).
    drop: tuple[str, ...] = ()
    cut: tuple[tuple[str, dt.date], ...] = ()
    one_batch: bool = False  # imported in one command even with a cut (see `import_groups`)

    @property
    def start(self) -> dt.date:
        month = self.as_of.month - self.months
        year = self.as_of.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        return dt.date(year, month, min(self.as_of.day, 28))

    @property
    def cost_change_day(self) -> dt.date:
        """Some products get a new sourcing cost halfway through the period."""
        return self.start + (self.as_of - self.start) / 2


@dataclass
class Account:
    config: SimConfig
    market: Market
    products: list[Product]
    rows: dict[str, list[Row]] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    reimbursements: list[Reimbursement] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    returns: list[CustomerReturn] = field(default_factory=list)
    removals: list[RemovalOrder] = field(default_factory=list)
    shipments: list[InboundShipment] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)

    def settled_sales(self) -> list[Sale]:
        """Sales printed in the seller's settlements (those closed by the as-of date)."""
        periods = settlement_periods(self.config)
        return [s for s in self.sales if settlement_of(self.config, periods, s.day)]

    def printed_rows(self) -> int:
        """How many report rows this account's events print (settlement summaries aside)."""
        rows = sum(len(r) for r in self.rows.values()) + len(self.sales)
        # Sales without an Order print three settlement lines each; orders and refunds say.
        plain = sum(1 for sale in self.settled_sales() if sale.order is None)
        return rows + 3 * plain + sum(len(e.amounts()) for e in self.settled())

    def settled(self) -> list[Order | Refund]:
        """Orders and refunds in the seller's settlements, in the order they are printed."""
        events: list[Order | Refund] = [o for o in self.orders if o.settlement_id]
        events += [r for r in self.refunds if r.settlement_id]
        return sorted(events, key=lambda event: event.day)

    def row(self, report: str, **values: object) -> Row:
        made = Row(report, Values(values))
        self.rows.setdefault(report, []).append(made)
        return made


def settlement_periods(config: SimConfig) -> list[tuple[str, dt.date, dt.date]]:
    """(settlement id, first day, last day) of every settlement closed by the as-of date."""
    periods = []
    start = config.start
    number = 0
    while start + dt.timedelta(days=SETTLEMENT_DAYS) <= config.as_of:
        end = start + dt.timedelta(days=SETTLEMENT_DAYS - 1)
        number += 1
        periods.append((f"{11800000000 + config.seed * 1000 + number}", start, end))
        start = end + dt.timedelta(days=1)
    return periods


def settlement_of(
    config: SimConfig, periods: list[tuple[str, dt.date, dt.date]], day: dt.date
) -> str:
    """The id of the settlement that prints `day`'s events ("" when it has not closed yet)."""
    index = (day - config.start).days // SETTLEMENT_DAYS
    return periods[index][0] if index < len(periods) else ""
