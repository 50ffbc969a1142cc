"""Views that resolve overlapping downloads into one current set of rows per canonical table.

`<table>_rows` keeps every imported row forever; `<table>` (a view) is what the audit reads:
- day-based reports: each (account, marketplace, day) takes its rows from the most recently
  imported file covering that day, so overlapping exports never double count while identical
  rows inside one file all count;
- snapshot reports: the newest download holding a key wins, with every line it has for that key
  (two identical lines in one download are two lines: a personalised order repeats its SKU);
- settlements: the newest file holding a settlement id wins that whole settlement.
"""

from __future__ import annotations

from recoup.reports import REPORT_TYPES
from recoup.reports.base import BySettlement, DayBased, ReportType, Snapshot


def view_sql(report: ReportType) -> list[str]:
    table = report.table
    merge = report.merge
    if isinstance(merge, DayBased):
        return [
            f"""CREATE OR REPLACE VIEW {table} AS
            SELECT r.* FROM {table}_rows r
            JOIN (SELECT account, marketplace, day, max(file_id) AS file_id
                  FROM coverage_days WHERE canonical = '{table}' GROUP BY ALL) owner
              ON r.account = owner.account AND r.marketplace = owner.marketplace
             AND r.{merge.day_column} = owner.day AND r.file_id = owner.file_id"""
        ]
    if isinstance(merge, Snapshot):
        keys = ", ".join(merge.keys)
        return [
            f"""CREATE OR REPLACE VIEW {table} AS
            SELECT * FROM {table}_rows
            QUALIFY file_id = max(file_id) OVER (PARTITION BY account, marketplace, {keys})"""
        ]
    assert isinstance(merge, BySettlement)
    # Every settlement file has one summary row per settlement, so the owner of a settlement is
    # found in that small table; a window over all settlement lines would sort them all.
    owners = """(SELECT account, settlement_id, max(file_id) AS file_id
                 FROM settlement_summaries_rows GROUP BY ALL)"""
    return [
        f"""CREATE OR REPLACE VIEW {name} AS
        SELECT r.* FROM {name}_rows r SEMI JOIN {owners} owner
          ON r.account = owner.account AND r.settlement_id = owner.settlement_id
         AND r.file_id = owner.file_id"""
        for name in ("settlements", "settlement_summaries")
    ]


def all_view_sql() -> list[str]:
    statements: dict[str, list[str]] = {}
    for report in REPORT_TYPES:
        statements.setdefault(report.table, view_sql(report))
    return [sql for group in statements.values() for sql in group]
