"""The shortcuts that make a small import fast read every file exactly as the general path does.

A small file (a settlement of a few thousand lines) costs DuckDB more to plan than to run, so
the loader computes its typed values once, runs it on one thread, leaves out the date parser's
branches no value takes, looks marketplaces up in lists, and trims values only when one may
start or end with a space (issue 16). Each shortcut is checked here against what it replaces.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from recoup.ingest import decode, import_paths, load
from recoup.ingest.decode import detect, transcribe
from recoup.reports.casts import FileStyle, date_branch_probe, date_sql
from recoup.reports.marketplaces import (
    CURRENCIES,
    currency_sql,
    marketplace_sql,
    normalise_marketplace,
)
from recoup.workspace import Workspace
from tests.golden import canonical_rows, fixtures, golden_path


@pytest.mark.parametrize("fixture", fixtures(), ids=lambda p: p.parent.name + "/" + p.name)
def test_the_large_file_path_gives_the_same_rows(
    fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cast as it goes, on every thread, every value trimmed: the golden rows all the same."""
    monkeypatch.setattr(load, "SMALL_FILE_RECORDS", -1)
    monkeypatch.setattr(decode, "PADDING_CHECK_CHARS", -1)
    expected = json.loads(golden_path(fixture).read_text(encoding="utf-8"))
    assert canonical_rows(fixture) == expected


# Dates as the reports print them (tests/test_casts.py), and what no parser branch reads.
PRINTED = [
    "05/13/2026", "2026-05-12T09:59:13+00:00", "2026-05-13T23:30:00-0700", "04/2023",
    "03.05.2018 09:10:07 UTC", "2026-03-14 08:49:04 UTC", "Sep 4, 2026 1:05:07 AM PDT",
    "1 Sept 2025 03:28:04 UTC", "1 juil. 2025 00:01:49 UTC", "1 Jul 2026 4:24:44 am UTC",
    "2025/07/01 0:01:49 JST", "13/13/2026", "yesterday", "09/06/25", "5/3/2026 10:00", "",
]  # fmt: skip


@pytest.mark.parametrize("order", ["mdy", "dmy"])
@pytest.mark.parametrize(
    "column",
    [[p] for p in PRINTED]
    + [[None], [None, "2026-05-12"], ["2026-05-12", "05/13/2026"], PRINTED, PRINTED[6:]],
    ids=repr,
)
def test_the_date_parser_without_unused_branches_reads_the_same(
    column: list[str | None], order: str
) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE v (t VARCHAR)")
    con.execute(f"INSERT INTO v VALUES {', '.join('(?)' for _ in column)}", column)
    (taken,) = con.execute(f"SELECT {date_branch_probe('t')} FROM v").fetchone() or (None,)
    general = FileStyle(slash_order=order)  # type: ignore[arg-type]
    pruned = FileStyle(slash_order=order, date_branches=(("t", int(taken or 0)),))  # type: ignore[arg-type]
    read = con.execute(f"SELECT t, {date_sql('t', general)}, {date_sql('t', pruned)} FROM v")
    for printed, expected, found in read.fetchall():
        assert found == expected, printed


def _padded(tmp_path: Path, text: str, name: str = "ledger.tsv") -> bool:
    raw = tmp_path / name
    raw.write_bytes(text.encode("utf-8"))
    layout = detect(raw, name)
    return transcribe(raw, layout, tmp_path / "copy").padded


HEADER = "Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\n"
ROW = "05/12/2026\tX001\tB0A1\tMUG-RED\tRed Mug 12oz\tReceipts\tFBA1\t24\tLGB3\n"


@pytest.mark.parametrize(
    ("body", "padded"),
    [
        (ROW * 3, False),
        (" " + ROW, True),  # the first value of the first row
        (ROW + ROW.replace("\tX001", "\t X001"), True),
        (ROW + ROW.replace("X001\t", "X001 \t"), True),
        (ROW + ROW.replace("LGB3\n", "LGB3 \n"), True),  # the last value of a row
        (ROW + ROW.replace("LGB3\n", "LGB3 \r\n"), True),
        (ROW + ROW.replace("LGB3\n", "LGB3 "), True),  # the file's last value, no line end
        (ROW + ROW.replace("\n", "\n "), True),
        (ROW.replace("\n", "\r\n") * 2, False),
    ],
)
def test_a_value_that_starts_or_ends_with_a_space_is_found(
    tmp_path: Path, body: str, padded: bool
) -> None:
    assert _padded(tmp_path, HEADER + body) is padded


def test_a_space_next_to_a_quote_in_a_quoted_file_counts(tmp_path: Path) -> None:
    header = HEADER.replace("\t", ",")
    row = ROW.replace("\t", ",")
    assert not _padded(tmp_path, header + row, "ledger.csv")
    assert _padded(tmp_path, header + row.replace("Red Mug", '" Red Mug'), "ledger.csv")


def test_a_space_at_a_chunk_edge_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = HEADER + ROW * 50 + ROW.replace("\tX001", "\t X001") + ROW * 50
    at = text.index("\t X001") + 1  # the chunk ends before the space, the next starts with it
    monkeypatch.setattr(decode, "CHUNK_BYTES", at)
    assert _padded(tmp_path, text)
    monkeypatch.setattr(decode, "CHUNK_BYTES", at + 1)  # ... or after it
    assert _padded(tmp_path, text)


def test_a_large_copy_is_trimmed_without_looking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode, "PADDING_CHECK_CHARS", len(ROW))
    assert _padded(tmp_path, HEADER + ROW * 3)


def test_duckdb_settings_are_put_back(workspace: Workspace) -> None:
    """One thread and no common-subexpression search while small files load, then as before;
    also after a file that fails."""
    con = workspace.con
    before = con.execute(
        "SELECT current_setting('threads'), current_setting('disabled_optimizers')"
    ).fetchone()
    reports = Path(__file__).parent / "data" / "reports"
    results = import_paths(
        workspace,
        [reports / "ledger_detail/us_spaced_2026.tsv", Path(__file__)],
        marketplace="US",
    )
    assert [r.status for r in results] == ["imported", "failed"]
    after = con.execute(
        "SELECT current_setting('threads'), current_setting('disabled_optimizers')"
    ).fetchone()
    assert after == before


PROBE = """
import sys
from pathlib import Path
from recoup.ingest import import_paths
from recoup.workspace import Workspace
with Workspace(Path(sys.argv[1])) as ws:
    results = import_paths(ws, [Path(p) for p in sys.argv[2:]], marketplace="US")
assert all(r.status == "imported" for r in results), results
print(sorted(m for m in ("pandas", "numpy", "pyarrow") if m in sys.modules))
"""


def test_importing_loads_neither_pandas_nor_numpy(tmp_path: Path) -> None:
    """DuckDB imports pandas, NumPy and pyarrow (0.4 s) for any query given Python parameters:
    the import binds its values as literals instead (recoup.sql)."""
    reports = Path(__file__).parent / "data" / "reports"
    files = [reports / "settlements/v2_us.tsv", reports / "reimbursements/us_cp1252.tsv"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "ws"), *map(str, files)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout.split("\n")[-2] == "[]"


def test_rejects_and_warnings_with_a_nul_character_are_stored(workspace: Workspace) -> None:
    """Text holding a NUL cannot be a SQL literal: such rows are bound as parameters."""
    load.insert_rows(workspace.con, "import_warnings", [(7, "a\x00b"), (7, "c")])
    stored = workspace.con.execute("SELECT message FROM import_warnings ORDER BY 1").fetchall()
    assert stored == [("a\x00b",), ("c",)]


MARKETPLACE_NAMES = [
    "US", "us", "GB", "Gb", "UK", "DE", "xx", "X1", "USA", "Amazon.com", "AMAZON.COM",
    "www.amazon.de", "WWW.Amazon.co.uk", "Non-Amazon", "Non-Amazon CA", "non-amazon  fr",
    "Non-Amazon GB", "amazon.com.mx", "Amazon.com.au", "Amazon", "www.gb", "LGB3", "Amazon.ca",
]  # fmt: skip


def test_the_marketplace_lookups_agree_with_their_python_twins() -> None:
    """marketplace_sql and currency_sql look names up in lists rather than long CASEs (they
    plan faster): the same answers as normalise_marketplace and CURRENCIES."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x VARCHAR)")
    values = [*MARKETPLACE_NAMES, *CURRENCIES, "usd", "EUR", "XYZ"]
    con.execute(f"INSERT INTO t VALUES {', '.join('(?)' for _ in values)}", values)
    found = con.execute(f"SELECT x, {marketplace_sql('x')}, {currency_sql('x')} FROM t")
    for value, market, currency in found.fetchall():
        assert market == normalise_marketplace(value), value
        assert currency == CURRENCIES.get(value.upper()), value
