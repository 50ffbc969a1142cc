"""Coverage (audit-rules.md principle 11): which days each report covers, how imports and
`--period` record them, how the audit turns missing days into `unverified` findings with their
`needs`, and what the claims do with them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recoup import coverage
from recoup.cli import main
from recoup.coverage import Coverage, Need, gaps, parse_period, union
from recoup.workspace import Workspace
from tests.conftest import DATA

REPORTS = DATA / "reports"
D = dt.date


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def spans(ws_dir: Path, report: str) -> list[tuple[dt.date, dt.date, str]]:
    with Workspace(ws_dir) as ws:
        return [
            (a, b, basis)
            for a, b, basis in ws.con.execute(
                "SELECT first_day, last_day, basis FROM file_coverage WHERE report = ? "
                "ORDER BY 1, 2, 3",
                [report],
            ).fetchall()
        ]


# -- the arithmetic ------------------------------------------------------------------------------


def test_union_joins_touching_and_overlapping_spans() -> None:
    got = union([(D(2025, 3, 1), D(2025, 3, 31)), (D(2025, 1, 1), D(2025, 1, 31)),
                 (D(2025, 2, 1), D(2025, 2, 10)), (D(2025, 3, 5), D(2025, 4, 2))])  # fmt: skip
    assert got == [(D(2025, 1, 1), D(2025, 2, 10)), (D(2025, 3, 1), D(2025, 4, 2))]
    assert gaps(got, D(2024, 12, 30), D(2025, 4, 5)) == [
        (D(2024, 12, 30), D(2024, 12, 31)),
        (D(2025, 2, 11), D(2025, 2, 28)),
        (D(2025, 4, 3), D(2025, 4, 5)),
    ]


def test_missing_moves_the_start_to_the_history_and_allows_a_week_of_lag() -> None:
    cov = Coverage.of([
        ("US", "ledger_detail", D(2025, 1, 1), D(2025, 6, 30)),
        ("US", "customer_returns", D(2025, 2, 1), D(2025, 6, 24)),
        ("US", "reimbursements", D(2025, 1, 1), D(2025, 6, 22)),
    ])  # fmt: skip
    as_of = D(2025, 6, 30)
    # Customer returns end 6 days before as_of: they reach it. Reimbursements end 8 days before.
    assert cov.missing("US", as_of, [("customer_returns", D(2025, 3, 1), None)]) == []
    assert cov.missing("US", as_of, [("reimbursements", D(2025, 3, 1), None)]) == [
        Need("reimbursements", D(2025, 3, 1), as_of)
    ]
    # A start before the account's history (2025-01-01) moves to it; returns begin later.
    assert cov.missing("US", as_of, [("customer_returns", D(2024, 11, 1), None)]) == [
        Need("customer_returns", D(2025, 1, 1), as_of)
    ]
    # A report never imported, and another marketplace with nothing at all.
    assert cov.missing("US", as_of, [("removal_orders", D(2025, 5, 1), None)]) == [
        Need("removal_orders", D(2025, 5, 1), as_of)
    ]
    assert str(cov.missing("DE", as_of, [("removal_orders", D(2025, 5, 1), D(2025, 5, 9))])[0]) \
        == "removal_orders 2025-05-01..2025-05-09"  # fmt: skip


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2025-01-01", "is not a period"),
        ("2025-01-01..", "is not a period"),
        ("2025-13-01..2025-12-31", "month must be in 1..12"),
        ("2025-06-01..2025-01-01", "starts (2025-06-01) after it ends (2025-01-01)"),
        ("2025-01-01..2099-01-01", "ends in the future"),
    ],
)
def test_a_bad_period_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=r"\S") as error:
        parse_period(text, D(2026, 12, 2))
    assert problem in str(error.value)


def test_a_period_reads_both_ends() -> None:
    assert parse_period(" 2025-01-01 .. 2025-06-30 ", D(2026, 1, 1)) == (
        D(2025, 1, 1),
        D(2025, 6, 30),
    )


# -- recorded at import ----------------------------------------------------------------------


def test_a_bad_period_imports_nothing(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    code, _ = run("--workspace", ws, "import", "--marketplace", "US",
                  str(REPORTS / "customer_returns/us.tsv"))  # fmt: skip
    assert code == 0
    for period in ("2025-06-01..2025-01-01", "soon", "2026-01-01..2999-01-01"):
        code, out = run("--workspace", ws, "import", "--marketplace", "US", "--period", period,
                        str(REPORTS / "reimbursements/us_cp1252.tsv"))  # fmt: skip
        assert code == 2, out
        assert "--period" in out
        assert "Traceback" not in out
    with Workspace(tmp_path / "ws") as w:
        files = w.con.execute("SELECT canonical FROM source_files").fetchall()
    assert files == [("customer_returns",)]


def test_files_imported_alone_cover_their_own_rows_and_together_the_batch(tmp_path: Path) -> None:
    alone, together = tmp_path / "alone", tmp_path / "together"
    returns, paid = REPORTS / "customer_returns/us.tsv", REPORTS / "reimbursements/us_cp1252.tsv"
    for path in (returns, paid):
        assert run("--workspace", str(alone), "import", "--marketplace", "US", str(path))[0] == 0
    assert spans(alone, "reimbursements") == [(D(2026, 5, 12), D(2026, 6, 3), "rows")]
    assert spans(alone, "customer_returns") == [(D(2026, 9, 14), D(2026, 9, 16), "rows")]

    code, _ = run("--workspace", str(together), "import", "--marketplace", "US", str(returns),
                  str(paid))  # fmt: skip
    assert code == 0
    # Downloads made together cover the same days: 2026-05-12 (reimbursements) to 2026-09-16.
    for report in ("reimbursements", "customer_returns"):
        assert (D(2026, 5, 12), D(2026, 9, 16), "batch") in spans(together, report)


def test_a_stated_period_covers_a_header_only_file(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    empty = tmp_path / "returns-none.tsv"
    empty.write_text((REPORTS / "customer_returns/us.tsv").read_text().splitlines()[0] + "\n")
    assert run("--workspace", str(ws), "import", "--marketplace", "US", str(empty))[0] == 0
    assert spans(ws, "customer_returns") == []  # header only, no period: covers nothing
    again = tmp_path / "returns-none-2.tsv"
    again.write_text(empty.read_text() + "\n")
    code, out = run("--workspace", str(ws), "import", "--marketplace", "US", "--period",
                    "2026-01-01..2026-06-30", str(again))  # fmt: skip
    assert code == 0, out
    assert spans(ws, "customer_returns") == [(D(2026, 1, 1), D(2026, 6, 30), "stated")]
    code, out = run("--workspace", str(ws), "status", "--format", "json")
    status = json.loads(out)
    assert status["customer_returns"]["coverage"] == {
        "US": {"ranges": [["2026-01-01", "2026-06-30"]], "gaps": []}
    }


def test_status_shows_the_gaps_between_downloads(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    returns = REPORTS / "customer_returns/us.tsv"
    # The same file given again for another period still proves that period (no rows twice).
    for period in ("2026-01-01..2026-03-31", "2026-05-01..2026-09-30"):
        code, out = run("--workspace", str(ws), "import", "--marketplace", "US", "--period",
                        period, str(returns))  # fmt: skip
        assert code == 0, out
    code, out = run("--workspace", str(ws), "status", "--format", "json")
    assert json.loads(out)["customer_returns"]["coverage"]["US"] == {
        "ranges": [["2026-01-01", "2026-03-31"], ["2026-05-01", "2026-09-30"]],
        "gaps": [["2026-04-01", "2026-04-30"]],
    }
    code, out = run("--workspace", str(ws), "status")
    assert "gaps" in out
    assert "2026-04-30" in out


def test_downloads_sum_money_per_report_and_put_the_most_first() -> None:
    findings: list[dict[str, Any]] = [
        {"marketplace": "US", "currency": "USD", "amount": "10.00",
         "needs": "customer_returns 2025-03-01..2025-06-30; reimbursements 2025-03-01..2025-06-30"},
        {"marketplace": "US", "currency": "USD", "amount": "5.50",
         "needs": "reimbursements 2025-01-15..2025-06-30"},
        {"marketplace": "US", "currency": "USD", "amount": "99.00", "needs": None},
    ]  # fmt: skip
    wanted = coverage.downloads(findings)
    assert [(d.report, d.first, d.findings, d.amount) for d in wanted] == [
        ("reimbursements", D(2025, 1, 15), 2, Decimal("15.50")),
        ("customer_returns", D(2025, 3, 1), 1, Decimal("10.00")),
    ]
    assert wanted[1].sentence() == (
        "Import the FBA Customer Returns report (Reports > Fulfillment > Customer Concessions "
        "> FBA customer returns) for US covering 2025-03-01..2025-06-30 to verify 1 finding "
        "worth 10.00 USD"
    )


def test_rows_beyond_a_stated_period_are_imported_with_a_warning(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    code, out = run("--workspace", str(ws), "import", "--marketplace", "US", "--period",
                    "2026-01-01..2026-06-30", str(REPORTS / "customer_returns/us.tsv"))  # fmt: skip
    assert code == 0, out
    assert "reach beyond the stated period 2026-01-01..2026-06-30" in " ".join(out.split())
    assert spans(ws, "customer_returns") == [(D(2026, 1, 1), D(2026, 6, 30), "stated")]
    with Workspace(ws) as w:
        assert w.con.execute("SELECT count(*) FROM customer_returns").fetchone() == (3,)
