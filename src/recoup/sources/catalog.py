"""The reports `recoup sync` pulls, as declarations.

`dated` reports are requested for a date range, at most `max_days` at a time, and re-pulled
`overlap_days` back from where the last sync stopped (Amazon changes them after the fact: the
ledger's reconciled quantities, removal order and order statuses). `snapshot` reports take no
range: each sync pulls the current state. Settlement reports cannot be requested: they are listed
and downloaded. Inbound shipments come from the Fulfillment Inbound v0 API, not a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from recoup import reports


@dataclass(frozen=True)
class Pull:
    name: str  # recoup's name (the canonical table it fills), also the sync state's key
    report_type: str  # the SP-API report type ("" for the inbound API)
    how: str  # "dated", "snapshot", "settlement" or "inbound"
    # The widest range one request asks for. Amazon documents no maximum for the FBA reports
    # (Report Type Values, selling-partner-api-docs references/reports-api/reporttype-values.md,
    # 2026: the ledger keeps 18 months, the others say only "content updated daily"), so they
    # keep a conservative 31 days.
    max_days: int = 31
    overlap_days: int = 3

    @property
    def title(self) -> str:
        """The report's own title; the inbound API fills two tables."""
        if self.how == "inbound":
            return f"{reports.title('inbound_shipments')} and their items"
        return reports.title(self.name)


PULLS = (
    Pull("ledger_detail", "GET_LEDGER_DETAIL_VIEW_DATA", "dated"),
    Pull("reimbursements", "GET_FBA_REIMBURSEMENTS_DATA", "dated"),
    Pull("customer_returns", "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "dated"),
    Pull("removal_orders", "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA", "dated",
         overlap_days=60),
    Pull("removal_shipments", "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA", "dated",
         overlap_days=60),
    # All Orders: "Report can be requested only upto 30 days" (selling-partner-api-models issues
    # 385 and 2591); a longer range comes back DONE with only that line (sync.RANGE_EXCEEDED).
    Pull("all_orders", "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "dated",
         max_days=30, overlap_days=30),
    Pull("fee_preview", "GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA", "snapshot"),
    Pull("inventory", "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "snapshot"),
    Pull("settlements", "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "settlement"),
    Pull("inbound", "", "inbound"),
)  # fmt: skip
BY_NAME = {p.name: p for p in PULLS}
LONGEST_BACKFILL_MONTHS = 18  # the longest claim window: nothing older can still be claimed
