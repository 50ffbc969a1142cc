"""Claim windows as the answer key reads them from reimbursement-policy.md.

Deliberately written apart from recoup's own policy data: the answer key is a second, independent
reading of the contract, so that a mistake in one shows up as a difference with the other.
"""

from __future__ import annotations

import calendar
import datetime as dt

US_CHANGE = dt.date(2024, 10, 23)  # manual-claim windows cut (US)
EU_CHANGE = dt.date(2025, 1, 9)  # the same for EU/UK
EU_UK = {"UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE", "IE"}
WAREHOUSE = {"warehouse_lost", "warehouse_damaged", "disposed_unauthorized"}
RETURNS = {"return_not_received", "return_damaged_by_amazon"}
FLAT_DAYS = {
    "removal_short": 60,
    "reimbursement_underpaid": 60,
    "reversal_unmatched": 60,
    "refund_overcharge": 90,
}


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months; a missing day becomes the month's last (2023-08-31 + 18 = 2025-02-28)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _days(day: dt.date, n: int) -> dt.date:
    return day + dt.timedelta(days=n)


def window(kind: str, marketplace: str, clock: dt.date) -> tuple[dt.date, dt.date]:
    """(opens, closes), both inclusive, for a finding whose clock started on `clock`."""
    us = marketplace == "US" and clock >= US_CHANGE
    eu = marketplace in EU_UK and clock >= EU_CHANGE
    if kind in WAREHOUSE:
        return clock, _days(clock, 60) if us or eu else add_months(clock, 18)
    if kind in RETURNS:
        if us:
            return _days(clock, 60), _days(clock, 120)
        if eu:
            return _days(clock, 45), _days(clock, 105)
        return _days(clock, 45), add_months(clock, 18)
    if kind == "inbound_shortage":
        return clock, _days(clock, 60) if us else add_months(clock, 9)
    return clock, _days(clock, FLAT_DAYS[kind])


def state(opens: dt.date, closes: dt.date, as_of: dt.date) -> str:
    if as_of < opens:
        return "not_yet"
    return "expired" if as_of > closes else "claimable"
