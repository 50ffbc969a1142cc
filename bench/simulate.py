"""Benchmark (not a test): how fast the simulator writes a large account.

Runs `recoup simulate` at a scale (default 360: about 10 million ledger rows, the audit
benchmark's account) in a child process and prints ledger rows per second, all rows written, the
peak memory of the main process and the largest worker, and the time.

    python bench/simulate.py [--scale 360] [--out bench/out/simulated]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=360.0)
    parser.add_argument("--out", type=Path, default=Path("bench/out/simulated"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "recoup", "simulate", str(args.out), "--scale", str(args.scale),
         "--as-of", "2026-11-28", "--quirks"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(done.stdout.strip())
    ledger = int(done.stdout.split(" of them ledger rows")[0].split(", ")[-1].replace(",", ""))
    size = sum(p.stat().st_size for p in (args.out / "reports").iterdir()) / 1e6
    print(
        f"scale {args.scale:g}: {ledger:,} ledger rows in {seconds:.1f} s "
        f"({ledger / seconds:,.0f} ledger rows/s), {size:,.0f} MB of reports, "
        f"peak {peak:,.0f} MB in the largest process"
    )


if __name__ == "__main__":
    main()
