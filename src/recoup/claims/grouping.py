"""After each audit: draft new claims, keep drafts true to the audit, and flag filed claims.

- Claimable findings that are in no claim yet are grouped the way Amazon's forms take them
  (the form's `group_by`: one FNSKU, order, shipment, removal order or reimbursement per case,
  never two kinds in one case). A finding joins the open draft for its group when there is one.
- A draft only ever holds findings the latest audit still calls claimable: a finding that is no
  longer owed, or whose window has closed, leaves the draft (with the reason). A draft left empty
  becomes `expired` (windows closed) or `withdrawn` (nothing owed any more).
- A filed claim is never changed by an audit. When the audit no longer finds what it asks for
  (units found, paid without the case id), it is flagged for review with the reason.
- Findings valued `unsellable` (damage to units that were already unsellable) are not drafted:
  Amazon pays nothing for them unless `audit.claim_unsellable_damage` is on.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

from recoup import clock
from recoup.claims import store
from recoup.claims.forms import form
from recoup.claims.store import MEMBER_COLUMNS
from recoup.findings import STORED
from recoup.sql import run

SNAPSHOT = tuple(c for c in MEMBER_COLUMNS if c not in ("claim_id", "removed_on", "removed_why"))


@dataclass
class Synced:
    as_of: dt.date | None
    drafted: list[str] = field(default_factory=list)  # new draft claims
    grown: list[str] = field(default_factory=list)  # drafts that took new findings
    emptied: list[str] = field(default_factory=list)  # drafts that expired or were withdrawn
    flagged: list[str] = field(default_factory=list)
    skipped: str = ""  # why the claims were left alone


def _findings(con: DuckDBPyConnection, account: str, as_of: dt.date) -> dict[str, dict[str, Any]]:
    """The audit's findings a sync looks at: the claimable ones, and those claims hold (most
    findings of a large account are expired or not yet open, and concern no claim)."""
    cursor = run(
        con,
        f"SELECT {', '.join(STORED)} FROM findings WHERE account = ? AND as_of = ? "
        "AND (state = 'claimable' OR finding_id IN (SELECT m.finding_id FROM claim_findings m "
        "JOIN claims c USING (claim_id) WHERE c.account = ? AND m.removed_on IS NULL))",
        [account, as_of, account],
    )
    return {r[0]: dict(zip(STORED, r, strict=True)) for r in cursor.fetchall()}


def group_key(finding: dict[str, Any]) -> str:
    key = finding[form(finding["kind"]).group_by]
    return str(key or finding["msku"] or finding["finding_id"])


def _snapshot(finding: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return {"claim_id": claim_id, **{c: finding[c] for c in SNAPSHOT}}


def _draftable(finding: dict[str, Any]) -> bool:
    return (
        finding["state"] == "claimable"
        and finding["value_basis"] != "unsellable"
        and bool(finding["quantity"] or finding["amount"])
    )


def sync(con: DuckDBPyConnection, account: str, as_of: dt.date) -> Synced:
    """Bring the account's claims in line with its audit as of `as_of` (one transaction)."""
    today = clock.today()
    if as_of > today:
        return Synced(as_of, skipped=f"{as_of} is in the future: claims follow audits up to today")
    # Audits dated after today could only be stored before recoup refused them; they are ignored.
    newest = run(
        con, "SELECT max(as_of) FROM audits WHERE account = ? AND as_of <= ?", [account, today]
    ).fetchone()
    if not newest or newest[0] is None:
        return Synced(None, skipped="no audit yet")
    if as_of < newest[0]:
        return Synced(as_of, skipped=f"claims follow the newest audit ({newest[0]}), not {as_of}")
    found = _findings(con, account, as_of)
    result = Synced(as_of)
    with store.transaction(con):
        _undo_future(con, account, today)
        taken = _refresh_drafts(con, account, as_of, found, result)
        _draft_new(con, account, as_of, found, taken, result)
        _review_filed(con, account, as_of, found, result)
    return result


def _undo_future(con: DuckDBPyConnection, account: str, today: dt.date) -> None:
    """Give back what an audit dated after today took from drafts (recoup once accepted such an
    as-of): the drafts it expired or withdrew, and the findings it removed from them. The audit
    that follows decides again, as of a real day, what each draft holds."""
    emptied = run(
        con,
        "SELECT claim_id, max(on_date) FROM claim_events WHERE account = ? AND on_date > ? "
        "AND event IN ('expired', 'withdrawn') AND claim_id IN (SELECT claim_id FROM claims "
        "WHERE account = ? AND state IN ('expired', 'withdrawn')) GROUP BY claim_id",
        [account, today, account],
    ).fetchall()
    run(
        con,
        "UPDATE claim_findings SET removed_on = NULL, removed_why = NULL WHERE removed_on > ? "
        "AND claim_id IN (SELECT claim_id FROM claims WHERE (account = ? AND state = 'draft') "
        "OR claim_id IN (SELECT unnest(?::VARCHAR[])))",
        [today, account, [c for c, _ in emptied]],
    )
    restored = []
    for claim_id, on in emptied:
        run(con, "UPDATE claims SET state = 'draft' WHERE claim_id = ?", [claim_id])
        note = f"an audit dated {on}, in the future, had emptied it"
        restored.append({"claim_id": claim_id, "account": account, "event": "restored",
                         "on_date": today, "state_after": "draft", "note": note})  # fmt: skip
    store.events(con, restored)


def _active(con: DuckDBPyConnection, account: str) -> dict[str, list[dict[str, Any]]]:
    """Active findings of the account's claims, by claim id."""
    ids = [c["claim_id"] for c in store.claims(con, account)]
    by_claim: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in store.members(con, ids, parse=False):
        by_claim[m["claim_id"]].append(m)
    return by_claim


def _refresh_drafts(
    con: DuckDBPyConnection,
    account: str,
    as_of: dt.date,
    found: dict[str, dict[str, Any]],
    result: Synced,
) -> set[str]:
    """Drop what a draft may no longer hold, update what changed; return findings in claims."""
    members = _active(con, account)
    taken = {m["finding_id"] for ms in members.values() for m in ms}
    new_events: list[dict[str, Any]] = []
    for claim in store.claims(con, account, states=("draft",)):
        kept, closed = [], False
        for m in members.get(claim["claim_id"], []):
            now = found.get(m["finding_id"])
            why = _why_leave(now, as_of)
            closed = closed or (now is not None and now["state"] == "expired")
            if why:
                run(
                    con,
                    "UPDATE claim_findings SET removed_on = ?, removed_why = ? "
                    "WHERE claim_id = ? AND finding_id = ?",
                    [as_of, why, claim["claim_id"], m["finding_id"]],
                )
                new_events.append(_event(claim, "finding_removed", as_of,
                                         finding_id=m["finding_id"], note=why))  # fmt: skip
                taken.discard(m["finding_id"])
                continue
            assert now is not None  # _why_leave gives a reason for a missing finding
            if any(now[c] != m[c] for c in ("quantity", "amount", "unit_value", "value_basis",
                                            "evidence")):  # fmt: skip
                run(
                    con,
                    f"UPDATE claim_findings SET {', '.join(f'{c} = ?' for c in SNAPSHOT)} "
                    "WHERE claim_id = ? AND finding_id = ?",
                    [*(now[c] for c in SNAPSHOT), claim["claim_id"], m["finding_id"]],
                )
            kept.append(now)
        if kept:
            before = (claim["quantity"], claim["amount"], claim["window_closes"])
            claim.update(store.totals(kept))
            if before != (claim["quantity"], claim["amount"], claim["window_closes"]):
                store.save(con, claim, ("quantity", "amount", "window_opens", "window_closes"))
        elif claim["claim_id"] in members:
            claim["state"] = "expired" if closed else "withdrawn"
            note = ("every finding's window closed before it was filed" if closed
                    else "recoup withdrew it: the audit no longer finds anything owed")  # fmt: skip
            store.save(con, claim, ("state",))
            new_events.append(_event(claim, claim["state"], as_of, note=note))
            result.emptied.append(claim["claim_id"])
    store.events(con, new_events)
    return taken


def _why_leave(now: dict[str, Any] | None, as_of: dt.date) -> str | None:
    """Why a draft may no longer hold this finding (None: it stays)."""
    if now is None:
        return f"no longer owed in the audit as of {as_of}"
    if now["state"] == "expired":
        return f"its window closed on {now['window_closes']}"
    if now["state"] == "unverified":
        return f"unverified in the audit as of {as_of}: import {now['needs']} first"
    if not _draftable(now):
        return f"not claimable in the audit as of {as_of}"
    return None


def _event(claim: dict[str, Any], name: str, on: dt.date, **fields: Any) -> dict[str, Any]:
    return {"claim_id": claim["claim_id"], "account": claim["account"], "event": name,
            "on_date": on, "state_after": claim["state"], **fields}  # fmt: skip


def _draft_new(  # noqa: PLR0917 - the sync's shared state, passed along
    con: DuckDBPyConnection,
    account: str,
    as_of: dt.date,
    found: dict[str, dict[str, Any]],
    taken: set[str],
    result: Synced,
) -> None:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in sorted(found.values(), key=lambda f: (f["kind"], f["event_date"], f["finding_id"])):
        if f["finding_id"] not in taken and _draftable(f):
            groups[f["kind"], f["marketplace"], group_key(f)].append(f)
    if not groups:
        return
    drafts = {(c["kind"], c["marketplace"], c["group_key"]): c
              for c in store.claims(con, account, states=("draft",))}  # fmt: skip
    members = _active(con, account)
    fresh = [key for key in groups if key not in drafts]
    ids = iter(store.next_claim_ids(con, len(fresh)))
    new_claims, new_members, new_events = [], [], []
    for key, items in groups.items():
        claim = drafts.get(key)
        if claim is None:
            first = items[0]
            claim = {"claim_id": next(ids), "account": account, "kind": key[0],
                     "marketplace": key[1], "currency": first["currency"], "group_key": key[2],
                     "state": "draft", "drafted_on": as_of, "case_id": None, "filed_on": None,
                     "recovered_units": 0, "recovered_amount": Decimal("0.00"), "review": None,
                     **store.totals(items)}  # fmt: skip
            new_claims.append(claim)
            new_events.append(
                _event(
                    claim,
                    "drafted",
                    as_of,
                    note=f"{len(items)} finding(s) from the audit as of {as_of}",
                )
            )
            result.drafted.append(claim["claim_id"])
        else:
            claim.update(store.totals([*members.get(claim["claim_id"], []), *items]))
            store.save(con, claim, ("quantity", "amount", "window_opens", "window_closes"))
            result.grown.append(claim["claim_id"])
        for f in items:
            new_members.append(_snapshot(f, claim["claim_id"]))
            new_events.append(_event(claim, "finding_added", as_of, finding_id=f["finding_id"],
                                     units=f["quantity"], amount=f["amount"]))  # fmt: skip
    store.insert(con, "claims", store.CLAIM_COLUMNS, new_claims)
    # A finding that left a draft and is owed again comes back to it: its old row goes (the
    # events keep that history) and the fresh snapshot takes its place.
    run(
        con,
        "DELETE FROM claim_findings WHERE removed_on IS NOT NULL AND claim_id || '|' || "
        "finding_id IN (SELECT unnest(?::VARCHAR[]))",
        [[f"{m['claim_id']}|{m['finding_id']}" for m in new_members]],
    )
    store.insert(con, "claim_findings", MEMBER_COLUMNS, new_members)
    store.events(con, new_events)


def _review_filed(
    con: DuckDBPyConnection,
    account: str,
    as_of: dt.date,
    found: dict[str, dict[str, Any]],
    result: Synced,
) -> None:
    """Flag filed claims whose findings the audit no longer owes in full (never change them)."""
    members = _active(con, account)
    new_events = []
    for claim in store.claims(con, account, states=store.FILED):
        by_units = form(claim["kind"]).settle_by == "units"
        measure = "quantity" if by_units else "amount"
        gone, unproven = [], []
        owed_now: Any = 0
        for m in members.get(claim["claim_id"], []):
            now = found.get(m["finding_id"])
            current = now[measure] if now else 0
            owed_now += current
            if now is None:
                gone.append(f"{_label(m)} is no longer owed")
            elif current < m[measure]:
                gone.append(f"{_label(m)} owes {current} where the claim asks {m[measure]}")
            if now is not None and now["state"] == "unverified":
                unproven.append(f"{_label(m)} (import {now['needs']})")
        paid = claim["recovered_units"] if by_units else claim["recovered_amount"]
        asked = claim[measure]
        reasons = []
        if owed_now + paid < asked and gone:
            reasons.append(
                f"the audit as of {as_of} finds less owed than this claim asks: "
                f"{'; '.join(gone)} (units found, or paid without this case id?)"
            )
        if unproven:
            # Principle 11: the downloads no longer prove the absence this claim asserts.
            reasons.append(
                f"the audit as of {as_of} cannot verify {'; '.join(unproven)}: the reports "
                "that could cancel it do not cover its days"
            )
        review = "; and ".join(reasons) or None
        if review != claim["review"]:
            claim["review"] = review
            store.save(con, claim, ("review",))
            name = "flagged" if review else "review_cleared"
            new_events.append(_event(claim, name, as_of, note=review))
            if review:
                result.flagged.append(claim["claim_id"])
    store.events(con, new_events)


def _label(m: dict[str, Any]) -> str:
    f = form(m["kind"])
    ids = dict.fromkeys(i for i in (m[f.group_by], m[f.line_id], m["fnsku"]) if i)
    return f"{' '.join(ids) or m['finding_id']} ({m['event_date']})"
