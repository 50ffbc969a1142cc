"""Benchmark (not a test): how long each CLI step takes on a typical account, against DuckDB.

Uses the account `recoup simulate --seed 7` writes (14 months, ~40 report files, ~114k rows) in a
temporary folder, then in one run times, each as a child process of the real CLI:
start-up (`recoup --help`, next to `python -c "import duckdb"`), simulate, import, audit,
findings as JSON, claims list, status, and `recoup demo` in a fresh workspace. The floors are
measured in this process on the same report files: DuckDB `read_csv` (auto-detection) of each
file into a table of an on-disk database, and Python's csv module reading every row. Prints each
step's seconds, its ratio to its floor and the issue's target; it never asserts timings.

    python bench/latency.py [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

# The targets (seconds), for reference only.
TARGETS = {
    "--help": 0.3, "import": 3.0, "audit": 2.0, "audit again": 2.0, "audit, another day": 2.0,
    "findings json": 0.5,
    "demo": 10.0,
}  # fmt: skip


class StepFailed(Exception):
    """A CLI step exited non-zero."""


def run(args: list[str], repeat: int = 1) -> float:
    """Best wall-clock seconds of `repeat` runs of a child process; StepFailed if one fails."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise StepFailed(f"`{' '.join(args[1:])}` exited {done.returncode}:\n{tail}")
        best = min(best, seconds)
    return best


def read_csv_floor(files: list[Path], database: Path) -> tuple[float, int, list[str]]:
    """Seconds and rows for DuckDB's read_csv of every file into tables; the files it failed."""
    failed: list[str] = []
    rows = 0
    started = time.perf_counter()
    con = duckdb.connect(str(database))
    for i, path in enumerate(files):
        quoted = str(path).replace("'", "''")
        try:
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{quoted}')")
        except duckdb.Error as error:
            failed.append(f"{path.name}: {str(error).splitlines()[0]}")
            continue
        counted = con.execute(f"SELECT count(*) FROM t{i}").fetchone()
        rows += int(counted[0]) if counted else 0
    con.close()
    return time.perf_counter() - started, rows, failed


def csv_module_floor(files: list[Path]) -> tuple[float, int]:
    """Seconds and rows for Python's csv module reading every file (tab- or comma-separated)."""
    rows = 0
    started = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        first = text.split("\n", 1)[0]
        delimiter = "\t" if "\t" in first else ","
        rows += sum(1 for _ in csv.reader(text.splitlines(), delimiter=delimiter)) - 1
    return time.perf_counter() - started, rows


def print_table(results: list[tuple[str, float, str, float | None]]) -> None:
    """One line per step: seconds, ratio to its floor, and the issue's target."""
    print(f"{'step':<22} {'seconds':>8}  {'ratio':>8}  {'to floor':<16} {'target':>8}")
    for step, seconds, floor_name, floor in results:
        ratio = f"{seconds / floor:7.1f}x" if floor else "       -"
        target = f"<= {TARGETS[step]:g} s" if step in TARGETS else "-"
        print(f"{step:<22} {seconds:8.3f}  {ratio:>8}  {floor_name:<16} {target:>8}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1, help="best of N for the fast steps")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.pop("RECOUP_PLANS_DIR", None)  # the first audit compiles, as a seller's first does
    python = sys.executable
    fast = max(args.repeat, 1)
    results: list[tuple[str, float, str, float | None]] = []
    with tempfile.TemporaryDirectory(prefix="recoup-latency-") as tmp:
        root = Path(tmp)
        account, workspace = root / "account", root / "workspace"
        recoup = [python, "-m", "recoup", "--workspace", str(workspace)]
        try:
            duck_s = run([python, "-c", "import duckdb"], fast)
            bare_s = run([python, "-c", "pass"], fast)
            results.append(("python -c pass", bare_s, "import duckdb", duck_s))
            results.append(("import duckdb", duck_s, "", None))
            results.append(("--help", run([*recoup, "--help"], fast), "import duckdb", duck_s))
            simulate_s = run([*recoup, "simulate", str(account), "--seed", str(args.seed)])
            files = sorted(p for p in (account / "reports").rglob("*") if p.is_file())
            size = sum(p.stat().st_size for p in files) / 1e6
            floor_s, floor_rows, failed = read_csv_floor(files, root / "floor.duckdb")
            csv_s, csv_rows = csv_module_floor(files)
            print(f"account: seed {args.seed}, {len(files)} report files, {size:.1f} MB")
            print(f"floor read_csv: {floor_s:.3f} s, {floor_rows:,} rows into tables, "
                  f"{len(files) - len(failed)}/{len(files)} files read")  # fmt: skip
            for failure in failed:
                print(f"  read_csv could not auto-detect {failure}")
            print(f"floor csv module: {csv_s:.3f} s, {csv_rows:,} rows")
            results.append(("read_csv (floor)", floor_s, "", None))
            results.append(("csv module", csv_s, "read_csv", floor_s))
            results.append(("simulate", simulate_s, "read_csv", floor_s))
            yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
            steps: list[tuple[str, list[str], int]] = [
                ("import", ["import", "--marketplace", "US", str(account / "reports")], 1),
                ("audit", ["audit"], 1),
                # The same day again: nothing is compiled, but the rules are built again, as the
                # first audit dated the closed shipments it saw (a table the rules then read).
                ("audit again", ["audit"], 1),
                # Any later audit of the account, for any day: replayed from its trace.
                ("audit, another day", ["audit", "--as-of", yesterday], 1),
                ("findings json", ["findings", "--format", "json"], fast),
                ("claims list", ["claims", "list"], fast),
                ("status", ["status"], fast),
            ]
            for step, command, times in steps:
                results.append((step, run([*recoup, *command], times), "read_csv", floor_s))
            demo = [python, "-m", "recoup", "--workspace", str(root / "demo-workspace"), "demo"]
            results.append(("demo", run(demo), "read_csv", floor_s))
        except StepFailed as failure:
            print_table(results)
            raise SystemExit(f"stopped: {failure}") from None
    print(f"(best of {fast} for start-up, findings, claims list and status; once for the rest)")
    print_table(results)


if __name__ == "__main__":
    main()
