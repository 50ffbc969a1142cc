"""The command line: exit codes, the summary, and `status --format json` (a stable interface)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recoup.cli import main
from recoup.reports import CANONICAL_TABLES
from tests.conftest import DATA

REPORTS = DATA / "reports"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "160", **(env or {})})
    return result.exit_code, result.output


def test_import_then_status_json(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    code, out = run(
        "--workspace", ws, "import", "--marketplace", "US", str(REPORTS / "settlements")
    )
    assert code == 0, out
    assert "settlements" in out
    assert "2018-05-03..2026-03-12" in out
    code, out = run("--workspace", ws, "status", "--format", "json")
    status = json.loads(out)
    assert list(status) == list(CANONICAL_TABLES)
    assert len(status) == 18
    assert status["settlements"].pop("coverage") == {
        # Per marketplace: the German file's days say nothing of the US ones.
        "DE": {"ranges": [["2018-05-03", "2018-05-04"]], "gaps": []},
        "US": {"ranges": [["2018-05-03", "2026-03-12"]], "gaps": []},
    }
    assert status["settlements"] == {
        "files": 2,
        "rows": 16,
        "first_date": "2018-05-03",
        "last_date": "2026-03-12",
        "marketplaces": ["DE", "US"],
        "rejects": 0,
    }
    assert status["ledger_detail"]["files"] == 0
    assert status["ledger_detail"]["first_date"] is None


def test_rejects_exit_non_zero_unless_accepted(tmp_path: Path) -> None:
    bad = str(DATA / "bad/too_few_fields.tsv")
    code, out = run("--workspace", str(tmp_path / "a"), "import", "--marketplace", "US", bad)
    assert code == 1
    assert "3 row(s) of" in out
    assert "line 4, column 'quantity'" in out
    code, _ = run(
        "--workspace", str(tmp_path / "b"), "import", "--marketplace", "US", "--accept-rejects", bad
    )
    assert code == 0


def test_failed_file_is_named_and_exits_non_zero(tmp_path: Path) -> None:
    code, out = run(
        "--workspace", str(tmp_path / "ws"), "import", str(DATA / "bad/not_a_report.csv")
    )
    assert code == 1
    assert "not_a_report.csv" in out
    assert "not a report recoup knows" in out


def test_workspace_from_the_environment(tmp_path: Path) -> None:
    ws = tmp_path / "from-env"
    code, out = run(
        "import",
        str(REPORTS / "ledger_detail/us_spaced_2026.tsv"),
        env={"RECOUP_WORKSPACE": str(ws)},
    )
    assert code == 0, out
    assert (ws / "recoup.duckdb").exists()
    code, out = run(
        "import",
        str(REPORTS / "ledger_detail/us_spaced_2026.tsv"),
        env={"RECOUP_WORKSPACE": str(ws)},
    )
    assert code == 0
    assert "already imported" in out


def test_unknown_marketplace_flag_is_a_usage_error(tmp_path: Path) -> None:
    code, out = run(
        "--workspace",
        str(tmp_path / "ws"),
        "import",
        "--marketplace",
        "Atlantis",
        str(REPORTS / "customer_returns/us.tsv"),
    )
    assert code == 2
    assert "unknown marketplace" in out


@pytest.mark.slow
def test_demo_simulates_imports_and_shows_what_is_owed(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["--workspace", str(tmp_path / "ws"), "demo", "--months", "3", "--as-of", "2026-11-28"],
    )
    assert result.exit_code == 0, result.output
    assert "Findings for account demo as of 2026-11-28" in result.output
    assert "The audit agrees with the simulator's answer key" in result.output
    assert "ledger_detail" in result.output
    key = tmp_path / "ws" / "demo" / "US-seed7-2026-11-28" / "answer-key.csv"
    assert key.exists()
    # Running it again imports nothing twice.
    again = CliRunner().invoke(
        main,
        ["--workspace", str(tmp_path / "ws"), "demo", "--months", "3", "--as-of", "2026-11-28"],
    )
    assert again.exit_code == 0, again.output
    status = CliRunner().invoke(
        main, ["--workspace", str(tmp_path / "ws"), "status", "--format", "json"]
    )
    ledger = json.loads(status.output)["ledger_detail"]
    monthly_files = sum(1 for _ in key.parent.joinpath("reports").glob("ledger-detail-*"))
    assert ledger["files"] == monthly_files


def test_simulate_writes_reports_and_an_answer_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["simulate", str(tmp_path / "out"), "--months", "2", "--marketplace", "DE",
         "--as-of", "2026-06-30", "--scale", "0.25"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "answer-key.json").exists()
    assert (tmp_path / "out" / "reports" / "ledger-detail.txt").exists()
