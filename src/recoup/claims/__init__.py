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
from typing import Any

from recoup.claims.grouping import Synced, sync
from recoup.claims.matching import Paid, match


@dataclass
class Updated:
    """What one audit or import changed in the claims."""

    synced: Synced | None = None
    paid: list[Paid] = field(default_factory=list)


def after_audit(con: Any, account: str, as_of: dt.date) -> Updated:
    return Updated(sync(con, account, as_of), match(con, account))


def after_import(con: Any, accounts: Iterable[str]) -> Updated:
    paid = [p for account in sorted(set(accounts)) for p in match(con, account)]
    return Updated(None, paid)
