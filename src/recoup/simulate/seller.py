"""One FBA seller's true history, day by day, and Amazon's handling of it.

Each product lives in one fulfilment centre. Every day it may receive inbound units, sell, be
lost, damaged or disposed of, be removed, and its orders may be refunded and returned. Amazon
answers some of these with reimbursements (most losses automatically, some partly, some late,
some never, some under the sourcing cost, some reversed). Every event writes the report rows it
would appear in; nothing dated after the as-of date happens. Stock never goes negative.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from collections.abc import Callable
from decimal import Decimal

from recoup.money import cents
from recoup.simulate import downloads, incidents
from recoup.simulate.account import Account, SimConfig
from recoup.simulate.catalog import Product, make_catalog
from recoup.simulate.events import Adjustment, Reimbursement, Row
from recoup.simulate.markets import MARKETS

DAY = dt.timedelta(days=1)


def catalog(config: SimConfig) -> list[Product]:
    """The account's products (the same for every batch of a run)."""
    market = MARKETS[config.marketplace]
    return make_catalog(
        random.Random(config.seed), max(1, round(40 * config.scale)), market.centres
    )


class Seller:
    """Runs the history of some of the account's products; `run()` returns them as an Account.

    Products never affect one another (each has its own centre, stock and random stream), so an
    account of any size can be simulated in batches with the same result as all at once.
    """

    def __init__(self, config: SimConfig, products: list[Product] | None = None) -> None:
        self.config = config
        market = MARKETS[config.marketplace]
        everything = catalog(config)
        self.account = Account(config, market, everything if products is None else products)
        self.index = {p.fnsku: i for i, p in enumerate(everything)}
        self.rng = random.Random(config.seed)
        # The rare cases' own stream (`incidents.RARE`): adding one leaves every other draw as it
        # was, so accounts keep their events.
        self.rare = random.Random(f"{config.seed}:rare")
        self.queue: list[tuple[dt.date, int, Callable[[], object]]] = []
        self.queue_day = config.start
        self.serial = itertools.count(1)
        self.payments = itertools.count(1)
        self.sellable: dict[str, int] = {}
        self.unsellable: dict[str, int] = {}
        self.inbound_open: set[str] = set()
        self.product = self.account.products[0]

    # -- identifiers -------------------------------------------------------------------------

    def digits(self, n: int) -> str:
        return f"{self.rng.randrange(10**n):0{n}d}"

    def order_id(self) -> str:
        number = self.digits(14)
        return f"{self.account.market.order_prefix}-{number[:7]}-{number[7:]}"

    def reference_id(self) -> str:
        return f"2007{self.digits(10)}"

    def reimbursement_id(self) -> str:
        return f"7{self.index[self.product.fnsku]:05d}{next(self.payments):04d}"

    # -- the clock ---------------------------------------------------------------------------

    def later(self, day: dt.date, action: Callable[[], object]) -> None:
        """Do `action` on `day`, unless that is after the as-of date (it has not happened)."""
        if day <= self.config.as_of:
            heapq.heappush(self.queue, (day, next(self.serial), action))

    def run(self) -> Account:
        for product in self.account.products:
            # Each product's own stream: the result does not depend on how products are batched.
            self.rng = random.Random(f"{self.config.seed}:{self.index[product.fnsku]}")
            self.rare = random.Random(f"{self.config.seed}:{self.index[product.fnsku]}:rare")
            self.product, self.payments = product, itertools.count(1)
            self.sellable[product.fnsku] = self.unsellable[product.fnsku] = 0
            rate = self.rng.uniform(0.4, 2.6)
            day = self.config.start
            while day <= self.config.as_of:
                self._due(day)
                self.queue_day = day
                self._day(day, product, rate)
                day += DAY
            self._due(self.config.as_of)
        downloads.finish(self.account)
        return self.account

    def _due(self, day: dt.date) -> None:
        """Run what is due by `day`, each on its own day (actions may schedule more)."""
        while self.queue and self.queue[0][0] <= day:
            when, _, action = heapq.heappop(self.queue)
            self.queue_day = when
            action()

    def _day(self, day: dt.date, product: Product, rate: float) -> None:
        stock = self.sellable[product.fnsku]
        if product.fnsku not in self.inbound_open and stock < rate * 25:
            incidents.send_inbound(self, day, product, max(20, round(rate * 60)))
        for _ in range(self._poisson(rate)):
            if self.sellable[product.fnsku] <= 0:
                break
            incidents.sell(self, day, product)
        roll = self.rng.random()
        for chance, incident in incidents.DAILY:
            if roll < chance:
                incident(self, day, product)
                break
            roll -= chance

    def _poisson(self, mean: float) -> int:
        count, threshold, product = 0, pow(2.718281828459045, -mean), self.rng.random()
        while product > threshold:
            count += 1
            product *= self.rng.random()
        return count

    # -- shared helpers for incidents ----------------------------------------------------------

    def ledger(
        self,
        day: dt.date,
        product: Product,
        event: str,
        quantity: int,
        *,
        reference: str = "",
        reason: str = "",
        disposition: str = "SELLABLE",
    ) -> Row:
        return self.account.row(
            "ledger_detail",
            date=day,
            fnsku=product.fnsku,
            asin=product.asin,
            msku=product.sku,
            title=product.title,
            event_type=event,
            reference_id=reference,
            quantity=quantity,
            fulfillment_center=product.fulfillment_center,
            disposition=disposition,
            reason=reason,
            country=self.account.market.code,
            date_and_time=self.account.market.date_and_time(day),
        )

    def reimburse(
        self,
        day: dt.date,
        product: Product,
        reason: str,
        units: int,
        per_unit: Decimal,
        *,
        order_id: str = "",
        in_kind: int = 0,
        original: Reimbursement | None = None,
    ) -> Reimbursement:
        """A reimbursement row (a reversal when `original` is given: negative units)."""
        rid = self.reimbursement_id()
        cash = units - in_kind
        total = cents(per_unit * cash)
        row = self.account.row(
            "reimbursements",
            approval_date=day,
            reimbursement_id=rid,
            case_id="",
            amazon_order_id=order_id,
            reason=reason,
            sku=product.sku,
            fnsku=product.fnsku,
            asin=product.asin,
            product_name=product.title,
            condition="NewItem",
            currency=self.account.market.currency,
            amount_per_unit=per_unit,
            amount_total=total,
            quantity_reimbursed_cash=cash,
            quantity_reimbursed_inventory=in_kind,
            quantity_reimbursed_total=units,
            original_reimbursement_id=original.reimbursement_id if original else "",
            original_reimbursement_type=original.reason if original else "",
        )
        made = Reimbursement(
            rid,
            day,
            reason,
            product,
            cash,
            in_kind,
            per_unit,
            total,
            row,
            order_id=order_id,
            original_id=original.reimbursement_id if original else "",
            original_reason=original.reason if original else "",
        )
        self.account.reimbursements.append(made)
        if in_kind:
            # Replacement in kind arrives in the ledger as `N` units.
            # The contract counts these among the units that can explain a later reversal.
            self.sellable[product.fnsku] += in_kind
            reference = self.reference_id()
            ledger_row = self.ledger(
                day, product, "Adjustments", in_kind, reference=reference, reason="N"
            )
            self.account.adjustments.append(
                Adjustment(day, product, "N", in_kind, reference, ledger_row)
            )
        return made

    def cost_on(self, product: Product, day: dt.date) -> Decimal:
        if product.later_cost is not None and day >= self.config.cost_change_day:
            return product.later_cost
        return product.cost

    def days(self, low: int, high: int) -> dt.timedelta:
        return dt.timedelta(days=self.rng.randint(low, high))
