"""What differs between the simulated marketplaces: currency, centres, ids and printed formats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Market:
    code: str
    currency: str
    site: str  # settlement `marketplace-name`
    centres: list[str]
    order_prefix: str
    midnight: str  # as the ledger's `Date and Time` prints a day's start
    day_first: bool  # settlement dates dd.MM.yyyy and comma decimals (DE)

    def settlement_date(self, day: dt.date, time: str = "08:49:04") -> str:
        if self.day_first:
            return f"{day:%d.%m.%Y} {time} UTC"
        return f"{day:%Y-%m-%d} {time} UTC"

    def date_and_time(self, day: dt.date) -> str:
        """The ledger's `Date and Time`: always the day's start in local time."""
        return f"{day:%Y-%m-%d}T{self.midnight}"

    def posted_date(self, day: dt.date) -> str:
        return f"{day:%d.%m.%Y}" if self.day_first else f"{day:%Y-%m-%d}"

    def amount(self, value: Decimal) -> str:
        return str(value).replace(".", ",") if self.day_first else str(value)


MARKETS = {
    "US": Market(
        "US", "USD", "Amazon.com", ["LGB3", "ONT8", "PHX6", "MDW2"], "111", "00:00:00-0700", False
    ),
    "DE": Market("DE", "EUR", "Amazon.de", ["FRA3", "DTM2", "LEJ1"], "302", "01:00:00+0100", True),
}
