"""Real report files from public repositories (issue 20, "Real files"): each one recoup reads
imports with exactly the rows SOURCES.md counts, and a layout recoup knows but does not read is
refused naming what it is and what to download instead.

The files live in the shared evaluation set (never copied here: most have no licence); these
tests skip when it is absent. Rows are counted in `recoup status` (the merged canonical view),
not only in the import summary: the two disagreed before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from recoup.ingest import FileResult, import_paths
from recoup.reports.base import normalise_header
from recoup.reports.unsupported import recognise
from recoup.status import workspace_status
from recoup.workspace import Workspace

SAMPLES = Path("/work/shared/samples/real/public-repos")
FIXTURES = Path(__file__).parent / "data" / "reports"

# Files that do not import with their exact row count yet, each with why; the lead removes an
# entry when its fix lands (the test then holds the file to its count).
KNOWN_OPEN: dict[str, str] = {}  # real files recoup does not yet import exactly, and why
# Synthetic files not written the way Amazon writes them: recoup rejects their lines, saying why.
NOT_AS_AMAZON_WRITES = {
    # No summary line (settlement dates on every line, total-amount empty).
    "synthetic/settlement_v1/Juancho-BackToWin__aresstore-seller-hub__settlement.txt": (
        "has no summary line"
    ),
}
# Layouts recoup recognises and refuses by design (recoup.reports.unsupported).
REFUSED = {
    "other_payments_transaction_view/lwgray__amazonexplorer__all_orders.txt",
    "other_payments_transaction_view/lwgray__amazonexplorer__refunds.txt",
}


@dataclass(frozen=True)
class Source:
    """One file's entry in SOURCES.md."""

    path: str
    rows: int
    marketplace: str | None  # the one given when recoup asked (the file names none)


def sources() -> list[Source]:
    """Every file SOURCES.md lists, with its `rows:` count (a settlement's summary row, shown
    as `(+1 summary)`, is not a row)."""
    listing = SAMPLES / "SOURCES.md"
    if not listing.is_file():
        return []
    found = []
    for section in listing.read_text(encoding="utf-8").split("\n### `")[1:]:
        path = section.split("`", 1)[0]
        rows = re.search(r"\brows: (\d+)", section)
        asked = re.search(r"--marketplace (\w+) given", section)
        assert rows, f"SOURCES.md gives no rows for {path}"
        found.append(Source(path, int(rows[1]), asked[1] if asked else None))
    return found


def imported(
    tmp_path: Path, file: Path, marketplace: str | None
) -> tuple[FileResult, dict[str, Any]]:
    """The file imported alone into a fresh workspace: its result and `recoup status`."""
    with Workspace(tmp_path / "ws") as workspace:
        (result,) = import_paths(workspace, [file], marketplace=marketplace)
        return result, workspace_status(workspace.con)


def need_samples() -> None:
    if not (SAMPLES / "SOURCES.md").is_file():
        pytest.skip(f"the shared evaluation set is not at {SAMPLES}")


@pytest.mark.parametrize("source", sources(), ids=lambda s: s.path)
def test_every_real_file_imports_with_its_exact_row_count(tmp_path: Path, source: Source) -> None:
    if source.path in KNOWN_OPEN:
        pytest.skip(f"known open: {KNOWN_OPEN[source.path]}")
    if source.path in REFUSED:
        pytest.skip("refused by design: test_the_real_transaction_view_downloads_are_named")
    result, status = imported(tmp_path, SAMPLES / source.path, source.marketplace)
    if source.path in NOT_AS_AMAZON_WRITES:
        assert result.rejects == source.rows
        assert all(NOT_AS_AMAZON_WRITES[source.path] in r[3] for r in result.reject_samples)
        assert result.table is not None
        assert status[result.table]["rows"] == 0
        return
    assert result.status == "imported", result.problem
    assert result.rejects == 0, result.reject_samples
    assert result.table is not None
    assert status[result.table]["rows"] == source.rows
    assert result.rows == source.rows


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_real_transaction_view_downloads_are_named(tmp_path: Path, name: str) -> None:
    need_samples()
    result, status = imported(tmp_path, SAMPLES / name, "US")
    assert result.status == "failed"
    assert result.problem is not None
    assert "Transaction View payments download (2013-2016)" in result.problem
    assert "download the Date Range transaction report" in result.problem
    assert "Payments > Reports Repository" in result.problem
    assert "closest" not in result.problem
    assert all(table["rows"] == 0 for table in status.values())


TRANSACTION_VIEW = (
    "\ufeffTransaction Summary for April 27, 2015 to April 26, 2016\r\n"
    "Transactions: 2\r\n"
    "\r\n"
    "Date\tOrder ID\tSKU\tTransaction type\tPayment Type\tPayment Detail\tAmount\tQuantity\t"
    "Product Title\r\n"
    "Apr 26, 2016\t111-0000000-0000001\tMUG-1\tOrder Payment\tAmazon fees\t"
    "FBA Pick & Pack Fee\t$-1.06\t\tEnamel mug\r\n"
    "Apr 26, 2016\t111-0000000-0000001\tMUG-1\tOrder Payment\tProduct charges\t\t$14.99\t1\t"
    "Enamel mug\r\n"
)


def test_a_transaction_view_download_is_refused_naming_it(tmp_path: Path) -> None:
    """The same layout, synthetic (runs without the shared set): refused before any row is
    stored, with what to download instead; never "the closest is Sourcing costs"."""
    file = tmp_path / "all_orders.txt"
    file.write_text(TRANSACTION_VIEW, encoding="utf-8", newline="")
    result, status = imported(tmp_path, file, "US")
    assert result.status == "failed"
    assert result.problem == (
        f"{file}: looks like the Seller Central Transaction View payments download "
        "(2013-2016), which recoup does not read: download the Date Range transaction report "
        "(Payments > Reports Repository) instead"
    )
    assert all(table["files"] == 0 for table in status.values())


def test_recognise_names_known_layouts_only() -> None:
    def names(*header: str) -> list[str]:
        return [normalise_header(h) for h in header]

    view = recognise(names("Date", "Order ID", "SKU", "Transaction type", "Payment Type",
                           "Payment Detail", "Amount", "Quantity", "Product Title"))  # fmt: skip
    assert view is not None
    assert view.name == "transaction_view"
    reserved = recognise(names("sku", "fnsku", "asin", "product-name", "reserved_qty",
                               "reserved_customerorders", "reserved_fc-transfers"))  # fmt: skip
    assert reserved is not None
    assert reserved.name == "reserved_inventory"
    assert recognise(names("Date", "Order ID", "SKU", "Amount")) is None
    assert recognise([]) is None


def test_the_synthetic_inventory_planning_sample_imports_its_four_rows(tmp_path: Path) -> None:
    need_samples()
    (sample,) = (SAMPLES / "synthetic" / "inventory_planning").glob("*.txt")
    result, status = imported(tmp_path, sample, None)
    assert (result.status, result.report, result.rejects) == ("imported", "inventory_health", 0)
    assert result.marketplaces == ["ES"]  # its `marketplace` column: Amazon.es
    assert status["inventory_health"]["rows"] == 4
    assert status["inventory_health"]["first_date"] == "2026-08-17"


def test_the_committed_inventory_health_fixture_imports_exactly(tmp_path: Path) -> None:
    """The 99-column layout of a 2025 download (finer age buckets, `DEPRECATED
    healthy-inventory-level`): three SKUs of one snapshot day, then the same day downloaded
    again (replaces it) and the next day (kept beside it)."""
    fixture = FIXTURES / "inventory_health" / "us_planning.tsv"
    text = fixture.read_text(encoding="utf-8")
    again = tmp_path / "again.tsv"
    assert text.count("\t410\t") == 1  # the lantern's `available`
    again.write_text(text.replace("\t410\t", "\t395\t"), encoding="utf-8")
    later = tmp_path / "later.tsv"
    later.write_text(text.replace("2026-11-30\t", "2026-12-01\t"), encoding="utf-8")
    with Workspace(tmp_path / "ws") as workspace:
        (first,) = import_paths(workspace, [fixture])
        assert (first.status, first.report, first.rows, first.rejects) == (
            "imported", "inventory_health", 3, 0)  # fmt: skip
        assert first.marketplaces == ["US"]
        assert workspace_status(workspace.con)["inventory_health"]["rows"] == 3
        import_paths(workspace, [again])
        import_paths(workspace, [later])
        status = workspace_status(workspace.con)["inventory_health"]
        lantern = workspace.con.execute(
            "SELECT snapshot_date, available, inv_age_456_plus_days, healthy_inventory_level, "
            "estimated_storage_cost_next_month FROM inventory_health "
            "WHERE sku = 'TRAIL-LANTERN' ORDER BY 1"
        ).fetchall()
    assert (status["rows"], status["first_date"], status["last_date"]) == (
        6, "2026-11-30", "2026-12-01")  # fmt: skip
    assert [(str(d), a) for d, a, *_ in lantern] == [("2026-11-30", 395), ("2026-12-01", 410)]
    assert [(age, level, str(cost)) for _d, _a, age, level, cost in lantern] == [
        (35, None, "71.15")] * 2  # fmt: skip
