"""Benchmark (not a test): the full audit of a large account, against plain pandas.

Uses a simulated account of about 10 million ledger rows (scale 360; made and imported into
bench/out/audit-ws on the first run, which takes several minutes), then in one run:
1. `recoup audit` in a child process: wall time and peak memory;
2. the same rules written plainly in pandas (bench/pandas_audit.py), in a child process;
3. checks recoup's findings against the simulator's answer key and against pandas', and prints
   both times and the ratio.

    python bench/audit.py [--scale 360] [--workspace bench/out/audit-ws]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

AS_OF = "2026-11-28"
ACCOUNT = "bench"


def _child(args: list[str]) -> tuple[float, float]:
    """Run a child process; its wall seconds and peak memory (MB)."""
    started = time.perf_counter()
    child = subprocess.Popen(args)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed ({status})")
    return seconds, usage.ru_maxrss / 1024


def _prepare(workspace: Path, scale: float) -> None:
    if (workspace / "recoup.duckdb").exists():
        return
    account = workspace.parent / "audit-account"
    recoup = [sys.executable, "-m", "recoup"]
    subprocess.run([*recoup, "simulate", str(account), "--scale", str(scale), "--as-of", AS_OF,
                    "--quirks"], check=True)  # fmt: skip
    subprocess.run([*recoup, "--workspace", str(workspace), "import", "--account", ACCOUNT,
                    "--marketplace", "US", str(account / "reports")], check=True)  # fmt: skip


def _pandas(workspace: Path, out: Path) -> None:
    import duckdb  # noqa: PLC0415 - only in the child

    sys.path.insert(0, str(Path(__file__).parent))
    from pandas_audit import audit  # noqa: PLC0415

    con = duckdb.connect(str(workspace / "recoup.duckdb"), read_only=True)
    import datetime as dt  # noqa: PLC0415

    found = audit(con, ACCOUNT, dt.date.fromisoformat(AS_OF))
    out.write_bytes(pickle.dumps(found))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=360.0)
    parser.add_argument("--workspace", type=Path, default=Path("bench/out/audit-ws"))
    parser.add_argument("--pandas-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas_child:
        _pandas(args.workspace, args.pandas_child)
        return
    _prepare(args.workspace, args.scale)
    ledger = subprocess.run(
        [sys.executable, "-c", "import duckdb,sys; print(duckdb.connect(sys.argv[1], "
         "read_only=True).execute('SELECT count(*) FROM ledger_detail').fetchone()[0])",
         str(args.workspace / "recoup.duckdb")], check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    print(f"account: {int(ledger):,} ledger rows (scale {args.scale:g})")

    recoup_s, recoup_mb = _child([sys.executable, "-m", "recoup", "--workspace",
                                  str(args.workspace), "audit", "--account", ACCOUNT,
                                  "--as-of", AS_OF])  # fmt: skip
    out = args.workspace.parent / "pandas-findings.pickle"
    pandas_s, pandas_mb = _child([sys.executable, __file__, "--workspace", str(args.workspace),
                                  "--pandas-child", str(out)])  # fmt: skip

    import duckdb  # noqa: PLC0415

    from recoup.findings import load  # noqa: PLC0415
    from recoup.simulate.compare import differences  # noqa: PLC0415

    con = duckdb.connect(str(args.workspace / "recoup.duckdb"), read_only=True)
    mine = load(con, ACCOUNT, __import__("datetime").date.fromisoformat(AS_OF))
    theirs = pickle.loads(out.read_bytes())
    wrong = differences(theirs, mine)
    # The simulator's answer key is the authority; the pandas script is only a second opinion.
    key = json.loads((args.workspace.parent / "audit-account" / "answer-key.json").read_text())
    as_json = [json.loads(json.dumps(f, default=str)) for f in mine]
    off_key = differences(key, as_json)
    print("recoup equals the answer key" if not off_key else
          f"recoup DIFFERS from the answer key in {len(off_key)} groups, e.g.:\n"
          + "\n".join(off_key[:10]))  # fmt: skip
    print(f"recoup audit: {recoup_s:.1f} s, peak {recoup_mb:,.0f} MB, {len(mine):,} findings")
    print(f"plain pandas: {pandas_s:.1f} s, peak {pandas_mb:,.0f} MB, {len(theirs):,} findings")
    print(f"ratio: recoup is {pandas_s / recoup_s:.1f}x the speed of pandas; "
          f"targets: <= 10 s, <= 2,048 MB, >= 10x")  # fmt: skip
    print("same findings" if not wrong else f"DIFFERENT in {len(wrong)} groups, e.g.:\n"
          + "\n".join(wrong[:10]))  # fmt: skip
    print(json.dumps({"recoup_s": round(recoup_s, 1), "pandas_s": round(pandas_s, 1),
                      "recoup_peak_mb": round(recoup_mb), "differences": len(wrong),
                      "off_the_answer_key": len(off_key)}))  # fmt: skip


if __name__ == "__main__":
    main()
