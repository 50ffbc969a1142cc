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
from recoup import claims
from recoup.claims import store, workflow
from recoup.engines import duckdb_engine, spark_engine
from recoup.ingest import import_paths
from recoup.lake import export_lake
from recoup.policy import load_policy
from recoup.simulate import SimConfig, simulate
from recoup.workspace import Workspace
from tests.claim_files import newer_reimbursements, payment

pytestmark = pytest.mark.spark

AS_OF = dt.date(2026, 11, 28)


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401, PLC0415 - only to see whether it is installed
    except ImportError:
        return "pyspark is not installed (pip install 'recoup[spark]')"
    if shutil.which("java") is None:
        return "no JDK (java) on the PATH"
    return None


def _inbound_claim_paid_by_case_id(ws: Workspace, reports: Path, tmp_path: Path) -> None:
    """File an inbound claim and import Amazon's payment naming its case id, so that both
    engines also run the case-id branch of inbound_shortage."""
    first = auditing.run(duckdb_engine(ws.con), "demo", AS_OF, load_policy(), {})
    auditing.store(ws.con, first)
    claims.after_audit(ws.con, "demo", AS_OF)
    inbound = store.claims(ws.con, "demo", states=("draft",), kinds=("inbound_shortage",))
    assert inbound, "the simulated account has no claimable inbound shortage"
    workflow.file(ws.con, inbound[0]["claim_id"], "4242", AS_OF)
    member = store.members(ws.con, [inbound[0]["claim_id"]])[0]
    paid = payment(inbound[0], member, case_id="4242", reason="Lost_Inbound")
    newer = newer_reimbursements(reports / "reimbursements.txt", tmp_path / "paid.txt", [paid])
    import_paths(ws, [newer], account="demo", marketplace="US")


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
        _inbound_claim_paid_by_case_id(ws, simulated.reports[0].parent, tmp_path)
        names = auditing.file_names(ws.con)
        on_duckdb = auditing.run(duckdb_engine(ws.con), "demo", AS_OF, load_policy(), names)
        assert "claim_cases" in duckdb_engine(ws.con).available("demo")
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
