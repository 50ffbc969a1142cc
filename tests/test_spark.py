"""The same account audited on DuckDB and on Spark (local mode, over the Parquet lake that
`recoup export-lake` writes) gives identical findings: ids, units, money, windows, evidence.

Needs pyspark and a JDK (`.ci/run` installs both); elsewhere the test is skipped, in CI it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from recoup import audit as auditing
from recoup.engines import duckdb_engine, spark_engine
from recoup.ingest import import_paths
from recoup.lake import export_lake
from recoup.policy import load_policy
from recoup.simulate import SimConfig, simulate
from recoup.workspace import Workspace

AS_OF = dt.date(2026, 11, 28)


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401, PLC0415 - only to see whether it is installed
    except ImportError:
        return "pyspark is not installed (pip install 'recoup[spark]')"
    if shutil.which("java") is None:
        return "no JDK (java) on the PATH"
    return None


def test_duckdb_and_spark_give_identical_findings(tmp_path: Path) -> None:
    missing = _spark_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark conformance test: {missing}")
        pytest.skip(missing)
    config = SimConfig(seed=31, months=5, scale=0.5, as_of=AS_OF)
    simulated = simulate(config, tmp_path / "account", quirks=True)
    with Workspace(tmp_path / "ws") as ws:
        import_paths(ws, simulated.reports, account="demo", marketplace="US")
        names = auditing.file_names(ws.con)
        on_duckdb = auditing.run(duckdb_engine(ws.con), "demo", AS_OF, load_policy(), names)
        counts = export_lake(ws.con, tmp_path / "lake")
    assert counts["ledger_detail"] > 0
    spark = spark_engine(tmp_path / "lake")
    try:
        on_spark = auditing.run(spark, "demo", AS_OF, load_policy(), names)
    finally:
        spark.close()
    assert len(on_duckdb.findings) > 50
    assert {f["kind"] for f in on_spark.findings} == {f["kind"] for f in on_duckdb.findings}
    assert on_spark.findings == on_duckdb.findings
