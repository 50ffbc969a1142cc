"""Benchmark (not a test): the claim steps on the large audit account.

Needs the workspace bench/audit.py builds and audits (bench/out/audit-ws, about 176k findings).
In one run it times, on that account's stored audit:
1. drafting every claimable finding into claims (the first sync after an audit);
2. the same sync again (nothing changes: what every later audit of the same day costs);
3. filing one claim in ten, then matching the account's reimbursements to them;
4. the money figures (the dashboard's one query), the claims export and one case text;
and prints each time with its rate per 1,000 claims. The account's claims are cleared first,
so the run can be repeated.

    python bench/claims.py [--workspace bench/out/audit-ws]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from recoup.claims import drafts, export, figures, grouping, matching, store, workflow
from recoup.policy import load_policy
from recoup.workspace import Workspace

ACCOUNT = "bench"
AS_OF = dt.date(2026, 11, 28)


def _timed(label: str, work: object, per: int | None = None) -> object:
    started = time.perf_counter()
    result = work() if callable(work) else None
    seconds = time.perf_counter() - started
    rate = f"  ({seconds / per * 1000:.3f} s per 1,000 claims)" if per else ""
    print(f"{label:<44} {seconds:8.2f} s{rate}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, default=Path("bench/out/audit-ws"))
    args = parser.parse_args()
    if not (args.workspace / "recoup.duckdb").exists():
        raise SystemExit(f"no workspace at {args.workspace}: run python bench/audit.py first")
    with Workspace(args.workspace) as ws:
        con = ws.con
        found = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'claimable') FROM findings "
            "WHERE account = ? AND as_of = ?",
            [ACCOUNT, AS_OF],
        ).fetchone()
        if not found or not found[0]:
            raise SystemExit("the workspace has no audit as of 2026-11-28: run bench/audit.py")
        print(f"{found[0]:,} findings, {found[1]:,} claimable, as of {AS_OF}")
        con.execute(
            "DELETE FROM claim_findings WHERE claim_id IN "
            "(SELECT claim_id FROM claims WHERE account = ?)",
            [ACCOUNT],
        )
        con.execute("DELETE FROM claim_events WHERE account = ?", [ACCOUNT])
        con.execute("DELETE FROM claims WHERE account = ?", [ACCOUNT])

        first = _timed("first sync (drafts every claimable finding)",
                       lambda: grouping.sync(con, ACCOUNT, AS_OF))  # fmt: skip
        drafted = len(first.drafted)  # type: ignore[attr-defined]
        print(f"  {drafted:,} draft claims")
        _timed("second sync (nothing changed)", lambda: grouping.sync(con, ACCOUNT, AS_OF), drafted)
        claims = store.claims(con, ACCOUNT, states=("draft",))
        chosen = [c for c in claims if c["window_opens"] <= AS_OF - dt.timedelta(days=1)][::10]

        def file_them() -> None:
            for n, c in enumerate(chosen):
                workflow.file(con, c["claim_id"], f"9{n:09d}", AS_OF - dt.timedelta(days=1))

        _timed(f"filing {len(chosen):,} claims one by one", file_them, len(chosen))
        paid = _timed("matching reimbursements to filed claims",
                      lambda: matching.match(con, ACCOUNT), len(chosen))  # fmt: skip
        print(f"  {len(paid):,} payments matched")  # type: ignore[arg-type]
        _timed("money figures", lambda: figures.figures(con, ACCOUNT, AS_OF))
        rows = _timed("claims export (CSV)",
                      lambda: export.to_csv(export.rows(con, ACCOUNT)), drafted)  # fmt: skip
        print(f"  {len(str(rows)) / 1e6:.1f} MB of CSV")
        policy = load_policy()
        _timed("one case text with its evidence CSV",
               lambda: drafts.render(con, claims[0]["claim_id"], policy, AS_OF))  # fmt: skip


if __name__ == "__main__":
    main()
