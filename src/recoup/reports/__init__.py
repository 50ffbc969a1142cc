"""Every report layout recoup recognises, and the canonical tables they fill."""

from __future__ import annotations

from recoup.reports.base import ReportType
from recoup.reports.date_range import DATE_RANGE
from recoup.reports.fees import FEE_PREVIEW
from recoup.reports.inbound import INBOUND_SHIPMENT_ITEMS, INBOUND_SHIPMENTS
from recoup.reports.inventory import INVENTORY
from recoup.reports.inventory_health import INVENTORY_HEALTH
from recoup.reports.ledger import INVENTORY_ADJUSTMENTS, LEDGER_DETAIL, LEDGER_SUMMARY
from recoup.reports.orders import ALL_ORDERS, FULFILLED_SHIPMENTS
from recoup.reports.reimbursements import REIMBURSEMENTS
from recoup.reports.removals import REMOVAL_ORDERS, REMOVAL_SHIPMENTS
from recoup.reports.returns import CUSTOMER_RETURNS
from recoup.reports.seller_files import REMOVAL_RECEIPTS, SOURCING_COSTS
from recoup.reports.settlements import SETTLEMENT_V1, SETTLEMENT_V2

REPORT_TYPES: tuple[ReportType, ...] = (
    LEDGER_DETAIL,
    LEDGER_SUMMARY,
    INVENTORY_ADJUSTMENTS,
    REIMBURSEMENTS,
    CUSTOMER_RETURNS,
    REMOVAL_ORDERS,
    REMOVAL_SHIPMENTS,
    SETTLEMENT_V2,
    SETTLEMENT_V1,
    DATE_RANGE,
    FULFILLED_SHIPMENTS,
    ALL_ORDERS,
    FEE_PREVIEW,
    INVENTORY,
    INVENTORY_HEALTH,
    INBOUND_SHIPMENTS,
    INBOUND_SHIPMENT_ITEMS,
    SOURCING_COSTS,
    REMOVAL_RECEIPTS,
)

# Canonical tables in the order `recoup status` lists them (a stable interface).
CANONICAL_TABLES: tuple[str, ...] = tuple(dict.fromkeys(r.table for r in REPORT_TYPES))


# Amazon's dated downloads: a file of one of these covers days (audit-rules.md principle 11). The
# seller's own files are dated by when a cost took effect or a box arrived, not by a download; an
# Inventory Health snapshot is the stock on one day, not a record of events (a SKU absent from it
# is no proof that nothing happened to that SKU).
DATED_TABLES: frozenset[str] = frozenset(
    r.table
    for r in REPORT_TYPES
    if r.date_column and r not in (SOURCING_COSTS, REMOVAL_RECEIPTS, INVENTORY_HEALTH)
)


def by_table(table: str) -> list[ReportType]:
    return [r for r in REPORT_TYPES if r.table == table]


def title(table: str) -> str:
    """The name a seller knows a canonical table's report by: its first layout's title."""
    layouts = by_table(table)
    return layouts[0].title if layouts else table.replace("_", " ")


def download_from(table: str) -> str:
    """Where Seller Central offers a table's report ("" when no layout says)."""
    return next((r.download_from for r in by_table(table) if r.download_from), "")


def cited_as(table: str) -> str:
    """How a claim's case text names the report a table's evidence rows come from."""
    layouts = by_table(table)
    return layouts[0].cited_as or layouts[0].title if layouts else table.replace("_", " ")
