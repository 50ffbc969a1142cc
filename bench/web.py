"""Benchmark (not a test): the dashboard's pages on the large audit account.

Needs the workspace bench/audit.py builds and audits and bench/claims.py drafts (bench/out/
audit-ws: 9.8M ledger rows, about 176k findings, 26k claims). It starts a real `recoup serve` on
that workspace and times each page over HTTP (the first request, then the median of 5 more), then,
in the same run, the naive alternative to server-side paging: reading every finding of the audit
as the CLI export does. It prints each page's time and the ratio of the naive read to the findings
page. Read-only: nothing in the workspace changes.

    python bench/web.py [--workspace bench/out/audit-ws]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.web_server import serving

from recoup import findings
from recoup.workspace import DB_NAME

ACCOUNT = "bench"
RUNS = 5


def _timed(client: httpx.Client, url: str) -> tuple[float, float, int]:
    """The first request's time (nothing cached), then the median of the next RUNS."""
    started = time.perf_counter()
    client.get(url).raise_for_status()
    first = time.perf_counter() - started
    times, size = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return first, statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, default=Path("bench/out/audit-ws"))
    args = parser.parse_args()
    root = args.workspace.resolve()
    if not (root / DB_NAME).exists():
        raise SystemExit(f"no workspace at {root}: run python bench/audit.py first")
    con = duckdb.connect(str(root / DB_NAME), read_only=True)
    try:
        as_of = findings.latest_as_of(con, ACCOUNT)
        if as_of is None:
            raise SystemExit("the bench account has no audit: run python bench/audit.py")
        count = con.execute("SELECT count(*) FROM findings WHERE account = ? AND as_of = ?",
                            [ACCOUNT, as_of]).fetchone()  # fmt: skip
        finding = con.execute(
            "SELECT finding_id FROM findings WHERE account = ? AND as_of = ? AND state = "
            "'claimable' ORDER BY window_closes LIMIT 1", [ACCOUNT, as_of]).fetchone()  # fmt: skip
        claim = con.execute("SELECT claim_id FROM claims WHERE account = ? AND state = 'draft' "
                            "ORDER BY window_closes LIMIT 1", [ACCOUNT]).fetchone()  # fmt: skip
        drafts = con.execute("SELECT count(*) FROM claims WHERE account = ? AND state = 'draft'",
                             [ACCOUNT]).fetchone()  # fmt: skip
    finally:
        con.close()
    if not claim:
        raise SystemExit("the bench account has no draft claims: run python bench/claims.py")
    total = int(count[0]) if count else 0
    last_page = max(1, -(-total // 50))
    last_claims = max(1, -(-int(drafts[0] if drafts else 0) // 50))
    fid, cid = finding[0] if finding else "", claim[0]
    pages = [
        ("overview (figures, charts, deadlines)", "/"),
        ("findings, page 1", "/findings"),
        ("findings, by amount, last page", f"/findings?sort=amount&order=desc&page={last_page}"),
        ("findings, claimable closing in 14 days", "/findings?state=claimable&expiring=14"),
        ("findings, SKU search", "/findings?sku=0001"),
        ("one finding's evidence", f"/findings/{fid}/evidence"),
        ("claims, drafts page 1", "/claims?state=draft"),
        ("claims, drafts last page", f"/claims?state=draft&page={last_claims}"),
        ("one claim (case text, findings, history)", f"/claims/{cid}"),
        ("one claim's evidence CSV", f"/claims/{cid}/evidence.csv"),
        ("imports", "/imports"),
        ("settings", "/settings"),
    ]
    print(f"{total:,} findings as of {as_of}; {int(drafts[0] if drafts else 0):,} draft claims")
    print(f"{'page':<44} {'first':>7} {'median':>7}")
    timed = {}
    with (
        tempfile.TemporaryDirectory() as cwd,
        serving(root, Path(cwd)) as base,
        httpx.Client(base_url=base, timeout=120) as client,
    ):
        client.cookies.set("recoup_account", ACCOUNT)
        for label, path in pages:
            first, seconds, size = _timed(client, path)
            timed[path] = seconds
            print(
                f"{label:<44} {first * 1000:7.0f} {seconds * 1000:7.0f} ms {size / 1024:7.1f} KiB"
            )
    con = duckdb.connect(str(root / DB_NAME), read_only=True)
    try:
        started = time.perf_counter()
        everything = findings.load(con, ACCOUNT, as_of)
        naive = time.perf_counter() - started
    finally:
        con.close()
    page = timed["/findings"]
    label = f"naive: read all {len(everything):,} findings"
    print(
        f"{label:<44} {naive * 1000:8.0f} ms  (the paged findings page: {naive / page:.0f}x less)"
    )


if __name__ == "__main__":
    main()
