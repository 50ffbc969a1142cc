"""Claims: findings grouped into Seller Support cases, drafted, filed, and tracked to the money.

- `grouping`: after each audit, new drafts, drafts kept true to the audit, filed claims flagged;
- `workflow`: file, resolve, reopen (with the guardrails); `filing_list`: file many from a CSV;
- `matching`: reimbursements that pay filed claims, after each import and audit;
- `drafts` and `evidence`: the case text and the evidence CSV;
- `figures`: detected / claimable / filed / recovered / missed money and the next deadlines;
- `export`: the stable one-row-per-claim export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from duckdb import DuckDBPyConnection

from recoup.claims.grouping import Synced, sync
from recoup.claims.matching import Paid, match


@dataclass
class Updated:
    """What one audit or import changed in the claims."""

    synced: Synced | None = None
    paid: list[Paid] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What changed, in a sentence or two (the CLI prints them, the dashboard shows them)."""
        out = []
        s = self.synced
        if s is not None and s.skipped:
            out.append(f"Claims left as they were: {s.skipped}.")
        elif s is not None:
            parts = [f"{len(s.drafted)} new draft claim(s)"]
            if s.grown:
                parts.append(f"{len(s.grown)} draft(s) took new findings")
            if s.emptied:
                parts.append(f"{len(s.emptied)} draft(s) closed (windows shut or nothing owed)")
            if s.flagged:
                parts.append(f"{len(s.flagged)} filed claim(s) flagged for review: "
                             f"{', '.join(s.flagged[:10])}")  # fmt: skip
            out.append("Claims: " + "; ".join(parts) + ".")
        if self.paid:
            claims = sorted({p.claim_id for p in self.paid}, key=lambda c: int(c[1:]))
            money, units = sum(p.amount for p in self.paid), sum(p.units for p in self.paid)
            out.append(f"Reimbursements matched to filed claims {', '.join(claims[:10])}: "
                       f"{units} unit(s), {money:,.2f} recovered.")  # fmt: skip
        return out


def after_audit(con: DuckDBPyConnection, account: str, as_of: dt.date) -> Updated:
    return Updated(sync(con, account, as_of), match(con, account))


def after_import(con: DuckDBPyConnection, accounts: Iterable[str]) -> Updated:
    paid = [p for account in sorted(set(accounts)) for p in match(con, account)]
    return Updated(None, paid)
