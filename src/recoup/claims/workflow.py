"""What a person does with a claim: file it, resolve it, reopen it.

    draft -> filed (case id, date) -> reimbursed | partly_reimbursed | denied | withdrawn
    draft -> expired (its windows closed) | withdrawn
    denied | withdrawn | expired -> reopened -> filed (with a case id) or draft

Guardrails: a claim is filed only while every one of its findings is inside its window on the
filing day (never premature, never late), and a reopened claim must not share a finding with
another open claim.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from duckdb import DuckDBPyConnection

from recoup import clock
from recoup.claims import store
from recoup.claims.store import ClaimError
from recoup.sql import run

RESOLUTIONS = ("denied", "withdrawn")


def _check_day(on: dt.date) -> None:
    if on > clock.today():
        raise ClaimError(f"{on} is in the future")


def _windows(con: DuckDBPyConnection, claim: dict[str, Any], on: dt.date) -> None:
    """Every finding of the claim must be claimable on `on`."""
    members = store.members(con, [claim["claim_id"]])
    if not members:
        raise ClaimError(f"claim {claim['claim_id']} holds no findings")
    early = [m for m in members if on < m["window_opens"]]
    late = [m for m in members if on > m["window_closes"]]
    if early:
        first = min(m["window_opens"] for m in early)
        raise ClaimError(
            f"claim {claim['claim_id']} would be premature on {on}: {len(early)} finding(s) "
            f"cannot be claimed before {first} (Amazon penalises premature claims)"
        )
    if late:
        raise ClaimError(
            f"claim {claim['claim_id']}: the window of {len(late)} finding(s) closed on "
            f"{min(m['window_closes'] for m in late)}; run recoup audit to drop them from the draft"
        )


def file(con: DuckDBPyConnection, claim_id: str, case_id: str, on: dt.date) -> dict[str, Any]:
    """Record that the seller filed the claim as Seller Support case `case_id` on `on`."""
    case_id = case_id.strip()
    if not case_id:
        raise ClaimError("the case id is empty")
    _check_day(on)
    with store.transaction(con):
        claim = store.claim(con, claim_id)
        if claim["state"] != "draft":
            raise ClaimError(f"claim {claim['claim_id']} is {claim['state']}; only a draft is filed"
                             " (recoup claims reopen takes a closed one back)")  # fmt: skip
        _windows(con, claim, on)
        claim.update(state="filed", case_id=case_id, filed_on=on)
        store.save(con, claim, ("state", "case_id", "filed_on"))
        store.event(con, claim, "filed", on, case_id=case_id)
    return claim


def resolve(
    con: DuckDBPyConnection, claim_id: str, outcome: str, on: dt.date, note: str = ""
) -> dict[str, Any]:
    """Close a claim as denied (Amazon said no) or withdrawn (the seller let it go)."""
    if outcome not in RESOLUTIONS:
        raise ClaimError(f"a claim is resolved as one of {RESOLUTIONS}, not {outcome!r}")
    _check_day(on)
    allowed = store.FILED if outcome == "denied" else store.OPEN
    with store.transaction(con):
        claim = store.claim(con, claim_id)
        if claim["state"] not in allowed:
            raise ClaimError(f"claim {claim['claim_id']} is {claim['state']}; it can be "
                             f"{outcome} only when {' or '.join(allowed)}")  # fmt: skip
        claim["state"] = outcome
        store.save(con, claim, ("state",))
        store.event(con, claim, outcome, on, note=note or None)
    return claim


def reopen(
    con: DuckDBPyConnection, claim_id: str, on: dt.date, case_id: str | None = None, note: str = ""
) -> dict[str, Any]:
    """Take a denied, withdrawn or expired claim back: filed again when it has (or is given) a
    case id - an appeal, or a new case - otherwise a draft."""
    _check_day(on)
    with store.transaction(con):
        claim = store.claim(con, claim_id)
        if claim["state"] not in ("denied", "withdrawn", "expired"):
            raise ClaimError(f"claim {claim['claim_id']} is {claim['state']}; only a denied, "
                             "withdrawn or expired claim is reopened")  # fmt: skip
        mine = {m["finding_id"] for m in store.members(con, [claim["claim_id"]])}
        clash = run(
            con,
            "SELECT DISTINCT m.claim_id FROM claim_findings m JOIN claims c USING (claim_id) "
            "WHERE m.removed_on IS NULL AND c.state IN ('draft', 'filed', 'partly_reimbursed') "
            "AND list_contains(?, m.finding_id) AND m.claim_id <> ?",
            [sorted(mine), claim["claim_id"]],
        ).fetchall()
        if clash:
            raise ClaimError(f"claim {claim['claim_id']} shares findings with open claim(s) "
                             f"{', '.join(sorted(c for (c,) in clash))}")  # fmt: skip
        case = (case_id or "").strip() or claim["case_id"]
        if claim["filed_on"] is None:  # never filed: it must be claimable now, as a new draft is
            _windows(con, claim, on)
        claim.update(state="filed" if case else "draft", case_id=case)
        if case and claim["filed_on"] is None:
            claim["filed_on"] = on
        store.save(con, claim, ("state", "case_id", "filed_on"))
        store.event(con, claim, "reopened", on, case_id=case, note=note or None)
    return claim
