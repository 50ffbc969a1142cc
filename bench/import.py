"""Benchmark (not a test): `recoup import` against DuckDB's plain `read_csv` of the same files.

Writes a 5-million-row Inventory Ledger detail file plus proportional Reimbursements and
Customer Returns files, then in one run times (each in its own process, so peak memory is its
own): recoup importing them into a fresh workspace, and DuckDB reading them with `read_csv`
into tables. Prints rows per second, peak memory and the ratio. Target: import <= 2x read_csv,
peak < 2 GB.

With `--reports DIR` it times a folder of report files instead, read by `read_csv` with
detection as a seller's files would be: the settlement-heavy account of `bench/audit.py`
(`--reports bench/out/audit-account/reports`: 39M rows, 25M of them settlement lines).

    python bench/import.py [--rows 5000000] [--out bench/out/import] [--reports DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from recoup.reports.ledger import LEDGER_DETAIL
from recoup.reports.reimbursements import REIMBURSEMENTS as REIMBURSEMENTS_REPORT
from recoup.reports.returns import CUSTOMER_RETURNS

# Header names as Amazon prints them, taken from recoup's own report declarations.
LEDGER = [c.sources[0] for c in LEDGER_DETAIL.columns]
REIMBURSEMENTS = [c.sources[0] for c in REIMBURSEMENTS_REPORT.columns]
RETURNS = [c.sources[0] for c in CUSTOMER_RETURNS.columns]
EVENTS = [
    ("Shipments", "-1", ""),
    ("Receipts", "12", ""),
    ("CustomerReturns", "1", ""),
    ("Adjustments", "-1", "M"),
    ("Adjustments", "1", "F"),
    ("WhseTransfers", "-3", ""),
]


# A whole past year: rows dated after the import day are rejects (issue 20).
YEAR = 2025


def write_files(out: Path, rows: int) -> list[Path]:
    rng = random.Random(7)
    out.mkdir(parents=True, exist_ok=True)
    ledger = out / "ledger.tsv"
    with ledger.open("w") as f:
        f.write("\t".join(LEDGER) + "\n")
        for i in range(rows):
            month, day = 1 + (i * 12 // rows), 1 + rng.randrange(28)
            event, qty, reason = EVENTS[rng.randrange(len(EVENTS))]
            sku = rng.randrange(5000)
            f.write(
                f"{month:02d}/{day:02d}/{YEAR}\tX00{sku:07d}\tB0{sku:08d}\tSKU-{sku}\t"
                f"Product number {sku}, 12oz\t{event}\t{'2007686536' + str(i) if reason else ''}"
                f"\t{qty}\tLGB3\tSELLABLE\t{reason}\tUS\t\t\t"
                f"{YEAR}-{month:02d}-{day:02d}T00:00:00-0700\t\n"
            )
    small = max(rows // 50, 1)

    def dated(i: int, time: str) -> str:
        return f"{YEAR}-{1 + i * 12 // small:02d}-{1 + rng.randrange(28):02d}T{time}"

    def sku() -> int:
        return rng.randrange(5000)

    reimbursements = _write(
        out / "reimbursements.tsv",
        REIMBURSEMENTS,
        (
            f"{dated(i, '10:00:00+00:00')}\t{7900000000 + i}\t\t\tLost_Warehouse\tSKU-{s}"
            f"\tX00{s:07d}\tB0{s:08d}\tProduct® {s}\tNewItem\tUSD\t6.38\t12.76\t2\t0\t2\t\t"
            for i, s in ((i, sku()) for i in range(small))
        ),
        encoding="cp1252",
    )
    returns = _write(
        out / "returns.tsv",
        RETURNS,
        (
            f"{dated(i, '07:03:57+00:00')}\t111-{i:07d}-1234567\tSKU-{s}\tB0{s:08d}\tX00{s:07d}"
            f"\tProduct {s}\t1\tLGB3\tSELLABLE\tUNWANTED_ITEM\tUnit returned to inventory"
            f"\tLPN{i}\t"
            for i, s in ((i, sku()) for i in range(small))
        ),
    )
    return [ledger, reimbursements, returns]


def _write(path: Path, header: list[str], lines: Iterable[str], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding) as f:
        f.write("\t".join(header) + "\n")
        for line in lines:
            f.write(line + "\n")
    return path


RECOUP = """
import sys, time
from pathlib import Path
from recoup.workspace import Workspace
from recoup.ingest import import_paths
started = time.perf_counter()
with Workspace(Path(sys.argv[1])) as ws:
    results = import_paths(ws, [Path(p) for p in sys.argv[2:]], marketplace="US")
assert all(r.status == "imported" for r in results), results
import resource
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(sum(r.rejects for r in results), "rejects", file=sys.stderr)
print(time.perf_counter() - started, sum(r.rows for r in results), peak)
"""

PLAIN = """
import sys, time, duckdb
started = time.perf_counter()
con = duckdb.connect(sys.argv[1])
rows = 0
for i, path in enumerate(sys.argv[2:]):
    if DETECT:
        try:
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{path}')")
        except duckdb.Error as error:
            print(f"read_csv could not read {path}: {error}", file=sys.stderr)
            continue
    else:
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{path}', delim='\\t', "
                    f"header=true, encoding='{'latin-1' if 'reimb' in path else 'utf-8'}')")
    rows += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
con.close()
import resource
print(time.perf_counter() - started, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(
    code: str, target: Path, files: list[Path], detect: bool = False
) -> tuple[float, int, float]:
    """Seconds, rows and peak resident memory (MB) of one child process."""
    done = subprocess.run(
        [sys.executable, "-c", f"DETECT = {detect}\n{code}", str(target), *map(str, files)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, rows, peak_kb = done.stdout.split()[-3:]
    return float(seconds), int(rows), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    # Its own folder: bench/out also holds the audit benchmark's account, slow to make again.
    parser.add_argument("--out", type=Path, default=Path("bench/out/import"))
    parser.add_argument("--reports", type=Path, default=None,
                        help="time these report files instead of writing a ledger")  # fmt: skip
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    started = time.perf_counter()
    if args.reports:
        args.out.mkdir(parents=True)
        files = sorted(p for p in args.reports.iterdir() if p.is_file())
        print(f"{len(files)} report files in {args.reports}")
    else:
        files = write_files(args.out, args.rows)
        print(f"wrote {args.rows:,} ledger rows (+2x{args.rows // 50:,}) "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"{size:,.0f} MB")
    detect = args.reports is not None
    plain_s, plain_rows, plain_mb = measure(PLAIN, args.out / "plain.duckdb", files, detect)
    recoup_s, recoup_rows, recoup_mb = measure(RECOUP, args.out / "workspace", files)
    print(
        f"duckdb read_csv : {plain_s:7.2f} s  {plain_rows / plain_s:12,.0f} rows/s  "
        f"peak {plain_mb:,.0f} MB"
    )
    print(
        f"recoup import   : {recoup_s:7.2f} s  {recoup_rows / recoup_s:12,.0f} rows/s  "
        f"peak {recoup_mb:,.0f} MB"
    )
    print(f"ratio import / read_csv: {recoup_s / plain_s:.2f}x (target <= 2x, peak < 2048 MB)")


if __name__ == "__main__":
    main()
