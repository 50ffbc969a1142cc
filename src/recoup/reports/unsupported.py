"""Layouts recoup recognises but does not import, and what to download instead.

A file none of `REPORT_TYPES` matches is refused. When its header is one of these, the refusal
says what the file is and which download recoup reads, rather than naming the report whose
columns happen to be closest (a 2015 payments download is not "Sourcing costs").
"""

from __future__ import annotations

from dataclasses import dataclass

from recoup.reports.base import normalise_header
from recoup.reports.date_range import DATE_RANGE
from recoup.reports.inventory import INVENTORY


@dataclass(frozen=True)
class Known:
    """A layout recoup knows by its header and does not import."""

    name: str
    title: str  # what the seller downloaded, in their words
    columns: tuple[str, ...]  # header names that identify it, as printed: every one is present
    instead: str  # why recoup does not read it, and what to download instead

    @property
    def refusal(self) -> str:
        return f"looks like {self.title}, which recoup does not read: {self.instead}"


KNOWN: tuple[Known, ...] = (
    # Seller Central's old Payments > Transaction View "Download" (seen 2013-2016 in public
    # repositories): a preamble, then one line per fee or charge with `$`-prefixed amounts and
    # no settlement id; truncated at 600 transactions.
    Known(
        name="transaction_view",
        title="the Seller Central Transaction View payments download (2013-2016)",
        columns=("Transaction type", "Payment Type", "Payment Detail", "Amount", "Product Title"),
        instead=f"download the {DATE_RANGE.title} (Payments > Reports Repository) instead",
    ),
    # GET_RESERVED_INVENTORY_DATA (amazon-reports.md 10.2): its total is the Manage FBA
    # Inventory report's afn-reserved-quantity, and no audit needs the breakdown.
    Known(
        name="reserved_inventory",
        title="the Reserved Inventory report",
        columns=("reserved_qty", "reserved_customerorders", "reserved_fc-transfers"),
        instead=f"no audit needs it; the {INVENTORY.title} report carries the reserved total",
    ),
)


def recognise(normalised_header_names: list[str]) -> Known | None:
    """The known layout whose identifying columns this header holds (names normalised by
    `normalise_header`), or None."""
    present = set(normalised_header_names)
    for known in KNOWN:
        if all(normalise_header(column) in present for column in known.columns):
            return known
    return None


def among(headers: list[list[str]]) -> Known | None:
    """The first of a file's candidate header lines (each normalised) that `recognise` knows."""
    return next((k for k in map(recognise, headers) if k is not None), None)
