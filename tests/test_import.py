"""`recoup import`: nothing lost, nothing counted twice, bad input named and harmless."""

import datetime as dt
import gzip
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from recoup.ingest import import_paths
from recoup.workspace import Workspace
from tests.conftest import DATA, LEDGER_HEADER, REAL_SETTLEMENTS, count, tsv

REPORTS = DATA / "reports"


def ledger_row(date: str, quantity: str, ref: str = "", event: str = "Shipments") -> list[str]:
    return [
        date,
        "X001AAA111",
        "B0AAA11111",
        "MUG-RED",
        "Red Mug",
        event,
        ref,
        quantity,
        "LGB3",
        "SELLABLE",
        "",
        "US",
        "",
        "",
    ]


def snapshot(ws: Workspace) -> list[object]:
    """Everything a failed import must leave untouched."""
    tables = [
        r[0]
        for r in ws.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1"
        ).fetchall()
    ]
    state: list[object] = [sorted(p.name for p in ws.raw_dir.iterdir())]
    for table in tables:
        state.append((table, ws.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()))
    return state


# -- idempotency and overlap -------------------------------------------------------------------


def test_reimporting_the_same_bytes_is_a_no_op_that_says_so(workspace: Workspace) -> None:
    path = REPORTS / "reimbursements/us_cp1252.tsv"
    (first,) = import_paths(workspace, [path])
    before = snapshot(workspace)
    (second,) = import_paths(workspace, [path])
    assert first.status == "imported"
    assert first.rows == 4
    assert second.status == "duplicate"
    assert second.same_as == str(path)
    assert snapshot(workspace) == before


def test_gzip_and_zip_members_are_the_same_reports(workspace: Workspace, tmp_path: Path) -> None:
    source = REPORTS / "customer_returns/us.tsv"
    gz = tmp_path / "returns.tsv.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    archive = tmp_path / "reports.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(source, "inner/returns.tsv")
        zf.writestr(
            "inner/removals.tsv.gz",
            gzip.compress((REPORTS / "removal_shipments/us.tsv").read_bytes()),
        )
    results = import_paths(workspace, [gz, archive], marketplace="US")
    assert [r.status for r in results] == ["imported", "duplicate", "imported"]
    assert results[2].name.endswith("reports.zip!inner/removals.tsv.gz")
    assert count(workspace, "SELECT count(*) FROM customer_returns") == 3
    assert count(workspace, "SELECT count(*) FROM removal_shipments") == 2
    row = workspace.con.execute(
        "SELECT sha256 FROM source_files WHERE report_type = 'customer_returns'"
    ).fetchone()
    assert row is not None
    stored = workspace.raw_path(row[0])
    assert stored.read_bytes() == source.read_bytes()


def test_overlapping_ledger_exports_never_double_count(
    workspace: Workspace, tmp_path: Path
) -> None:
    may = tmp_path / "may.tsv"
    may.write_text(
        tsv(
            LEDGER_HEADER,
            ledger_row("05/01/2026", "-1"),
            ledger_row("05/29/2026", "-1"),
            ledger_row("05/29/2026", "-1"),  # identical rows in one file: two real shipments
            ledger_row("05/31/2026", "-5"),
        )
    )
    june = tmp_path / "june.tsv"
    june.write_text(
        tsv(
            LEDGER_HEADER,
            ledger_row("05/28/2026", "-2"),  # overlap starts on the 28th
            ledger_row("05/29/2026", "-1"),  # the 29th as the newer export saw it
            # nothing on the 31st: a day without rows is not the newer export's to take ...
            ledger_row("06/02/2026", "-3"),
        )
    )
    import_paths(workspace, [may, june])
    rows = workspace.con.execute(
        "SELECT date::VARCHAR, quantity, file_id FROM ledger_detail ORDER BY date, line"
    ).fetchall()
    assert [(d, q) for d, q, _ in rows] == [
        ("2026-05-01", -1),
        ("2026-05-28", -2),
        ("2026-05-29", -1),
        ("2026-05-31", -5),
        ("2026-06-02", -3),
    ]
    # Every row is still kept in the register of everything imported.
    assert count(workspace, "SELECT count(*) FROM ledger_detail_rows") == 7
    # ... unless its period is stated (here given again with it): then it saw no event that day.
    import_paths(workspace, [june], period=(dt.date(2026, 5, 28), dt.date(2026, 6, 2)))
    days = workspace.con.execute("SELECT DISTINCT date::VARCHAR FROM ledger_detail").fetchall()
    assert ("2026-05-31",) not in days


def test_identical_rows_inside_one_file_all_count(workspace: Workspace) -> None:
    import_paths(workspace, [REPORTS / "ledger_detail/us_spaced_2026.tsv"])
    assert (
        count(workspace, "SELECT count(*) FROM ledger_detail WHERE event_type = 'Shipments'") == 2
    )


def test_snapshot_reports_keep_the_newest_state(workspace: Workspace) -> None:
    import_paths(workspace, [REPORTS / "all_orders/us_first.tsv"])
    import_paths(workspace, [REPORTS / "all_orders/us_later.tsv"])
    assert workspace.con.execute(
        "SELECT order_status FROM all_orders WHERE amazon_order_id = '111-4444444-4444444'"
    ).fetchall() == [("Shipped",)]


def test_a_settlement_downloaded_twice_counts_once(workspace: Workspace, tmp_path: Path) -> None:
    again = tmp_path / "again.tsv"
    again.write_bytes((REPORTS / "settlements/v2_us.tsv").read_bytes() + b"\n\n")
    results = import_paths(workspace, [REPORTS / "settlements/v2_us.tsv", again])
    assert [r.status for r in results] == ["imported", "imported"]
    assert count(workspace, "SELECT count(*) FROM settlements") == 11
    assert count(workspace, "SELECT count(*) FROM settlement_summaries") == 1
    assert count(workspace, "SELECT count(DISTINCT file_id) FROM settlements") == 1


@pytest.mark.skipif(not REAL_SETTLEMENTS.exists(), reason="shared real samples not present")
def test_real_amazon_ca_settlements_import_and_reconcile(workspace: Workspace) -> None:
    results = import_paths(workspace, [REAL_SETTLEMENTS])
    assert len(results) == 7
    assert all(r.status == "imported" and r.rejects == 0 and not r.warnings for r in results)
    assert all(r.report == "settlement_v1" and r.marketplaces == ["CA"] for r in results)
    totals = workspace.con.execute(
        "SELECT s.settlement_id, s.total_amount, sum(l.amount) FROM settlement_summaries s "
        "JOIN settlements l USING (settlement_id) GROUP BY ALL"
    ).fetchall()
    assert len(totals) == 7
    assert all(total == summed for _, total, summed in totals)
    # The REVERSAL_REIMBURSEMENT that follows the refund of order 702-1278184-4976266.
    assert workspace.con.execute(
        "SELECT amount_type, amount::VARCHAR FROM settlements "
        "WHERE order_id = '702-1278184-4976266' AND amount_description = 'REVERSAL_REIMBURSEMENT'"
    ).fetchall() == [("FBA Inventory Reimbursement", "43.29")]


def test_a_settlement_that_does_not_add_up_is_a_warning(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = (REPORTS / "settlements/v2_us.tsv").read_text().replace("\t14.00\t", "\t15.00\t")
    wrong = tmp_path / "wrong.tsv"
    wrong.write_text(text)
    (result,) = import_paths(workspace, [wrong])
    assert result.status == "imported"
    assert result.warnings == [
        "settlement 11122233344: rows sum to 14.00 but the summary total-amount is 15.00"
    ]


# -- marketplaces and accounts -----------------------------------------------------------------


def test_marketplace_from_the_flag_when_the_report_does_not_say(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = REPORTS / "customer_returns/us.tsv"
    before = snapshot(workspace)
    (failed,) = import_paths(workspace, [path])
    assert failed.status == "failed"
    assert "does not say which marketplace" in (failed.problem or "")
    assert "--marketplace" in (failed.problem or "")
    assert str(path) in (failed.problem or "")
    assert snapshot(workspace) == before
    (ok,) = import_paths(workspace, [path], marketplace="US")
    assert ok.marketplaces == ["US"]


def test_accounts_are_kept_apart(workspace: Workspace) -> None:
    path = REPORTS / "ledger_detail/us_spaced_2026.tsv"
    a, b = (import_paths(workspace, [path], account=name)[0] for name in ("alpha", "beta"))
    assert a.status == b.status == "imported"
    assert workspace.con.execute(
        "SELECT account, count(*) FROM ledger_detail GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("alpha", 7), ("beta", 7)]


# -- bad input ---------------------------------------------------------------------------------


def test_an_unknown_file_names_the_closest_report(workspace: Workspace) -> None:
    (result,) = import_paths(workspace, [DATA / "bad/not_a_report.csv"])
    assert result.status == "failed"
    assert "not a report recoup knows" in (result.problem or "")
    assert "closest is" in (result.problem or "")
    assert "needs the column(s)" in (result.problem or "")


def test_a_report_missing_a_column_names_it(workspace: Workspace, tmp_path: Path) -> None:
    lines = (REPORTS / "reimbursements/us_cp1252.tsv").read_bytes().split(b"\n")
    header = lines[0].replace(b"\tamount-total", b"")
    cut = tmp_path / "cut.tsv"
    cut.write_bytes(header + b"\n")
    (result,) = import_paths(workspace, [cut])
    assert "closest is FBA Reimbursements" in (result.problem or "")
    assert "amount-total" in (result.problem or "")


def test_header_only_imports_nothing(workspace: Workspace) -> None:
    (result,) = import_paths(workspace, [DATA / "bad/header_only.tsv"], marketplace="US")
    assert (result.status, result.rows, result.rejects) == ("imported", 0, 0)


def test_rows_that_cannot_be_read_are_kept_as_rejects(workspace: Workspace) -> None:
    (result,) = import_paths(workspace, [DATA / "bad/too_few_fields.tsv"], marketplace="US")
    assert (result.status, result.rows, result.rejects) == ("imported", 1, 3)
    rejects = workspace.con.execute(
        "SELECT line, column_name, raw_text, problem FROM rejects ORDER BY line"
    ).fetchall()
    assert rejects[0][0] == 3
    assert rejects[0][3].startswith("too few fields")
    assert rejects[0][2].startswith("2026-09-15T07:03:57+00:00\t111-1234567-1234568")
    assert rejects[1] == (4, "quantity", "two", "cannot be read as a whole number")
    assert rejects[2] == (5, "return-date", "not a date", "cannot be read as a date")


def test_truncated_gzip_and_broken_zip(workspace: Workspace, tmp_path: Path) -> None:
    whole = gzip.compress((REPORTS / "customer_returns/us.tsv").read_bytes())
    truncated = tmp_path / "returns.tsv.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    broken = tmp_path / "reports.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    before = snapshot(workspace)
    results = import_paths(workspace, [truncated, broken], marketplace="US")
    assert [r.status for r in results] == ["failed", "failed"]
    assert "truncated or corrupt" in (results[0].problem or "")
    assert "not a readable zip archive" in (results[1].problem or "")
    assert snapshot(workspace) == before


def test_bytes_no_encoding_can_read_are_an_error_not_mojibake(
    workspace: Workspace, tmp_path: Path
) -> None:
    good = (REPORTS / "customer_returns/us.tsv").read_bytes()
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(good.replace(b"Red Mug 12oz", b"Red Mug \x81\x20", 1))
    before = snapshot(workspace)
    (result,) = import_paths(workspace, [bad], marketplace="US")
    assert result.status == "failed"
    assert "cannot be decoded" in (result.problem or "")
    assert snapshot(workspace) == before


def test_a_ten_megabyte_field_is_stored_whole(workspace: Workspace, tmp_path: Path) -> None:
    lines = (REPORTS / "customer_returns/us.tsv").read_text().splitlines()
    huge_comment = "x" * (10 * 1024 * 1024)
    fields = lines[1].split("\t")
    fields[-1] = huge_comment
    big = tmp_path / "big.tsv"
    big.write_text(lines[0] + "\n" + "\t".join(fields) + "\n")
    (result,) = import_paths(workspace, [big], marketplace="US")
    assert (result.status, result.rows, result.rejects) == ("imported", 1, 0)
    assert count(workspace, "SELECT length(customer_comments) FROM customer_returns") == len(
        huge_comment
    )


def test_crlf_blank_lines_and_trailing_spaces(workspace: Workspace, tmp_path: Path) -> None:
    text = (REPORTS / "customer_returns/us.tsv").read_text()
    messy = tmp_path / "messy.tsv"
    messy.write_bytes(("\n\n" + text.replace("\n", "  \r\n") + "\r\n\r\n").encode())
    (result,) = import_paths(workspace, [messy], marketplace="US")
    assert (result.rows, result.rejects) == (3, 0)
    assert workspace.con.execute(
        "SELECT DISTINCT product_name FROM customer_returns"
    ).fetchall() == [("Red Mug 12oz",)]


def test_mixed_crlf_and_lf_line_ends(workspace: Workspace, tmp_path: Path) -> None:
    """A file with rows appended by another program (LF body, CRLF tail) reads line by line."""
    for encoding in ("utf-8", "cp1252"):
        lines = (REPORTS / "customer_returns/us.tsv").read_text().splitlines()
        mixed = tmp_path / f"mixed-{encoding}.tsv"
        body = "\n".join(lines[:3]) + "\n" + "".join(line + "\r\n" for line in lines[3:])
        mixed.write_bytes(body.replace("Red Mug", "Caf\u00e9 Mug").encode(encoding))
        (result,) = import_paths(workspace, [mixed], marketplace="US", account=encoding)
        assert (result.status, result.rows, result.rejects) == ("imported", 3, 0), result.problem
        rows = workspace.con.execute(
            "SELECT line, product_name FROM customer_returns_rows WHERE account = ? ORDER BY 1",
            [encoding],
        ).fetchall()
        assert [line for line, _name in rows] == [2, 3, 5]  # line 4 is blank
        assert {name for _line, name in rows} == {"Caf\u00e9 Mug 12oz"}


def test_a_failure_mid_load_leaves_the_workspace_as_it_was(
    workspace: Workspace, tmp_path: Path
) -> None:
    import_paths(workspace, [REPORTS / "ledger_detail/us_spaced_2026.tsv"])
    before = snapshot(workspace)
    copy = tmp_path / "returns.tsv"
    shutil.copy(REPORTS / "customer_returns/us.tsv", copy)
    (result,) = import_paths(workspace, [copy])  # fails after staging: no marketplace
    assert result.status == "failed"
    assert snapshot(workspace) == before


def test_encodings_are_recorded(workspace: Workspace) -> None:
    import_paths(workspace, [REPORTS], marketplace="US")
    encodings = dict(
        workspace.con.execute(
            "SELECT regexp_extract(name, '[^/]+/[^/]+$'), encoding FROM source_files"
        ).fetchall()
    )
    assert encodings["reimbursements/us_cp1252.tsv"] == "cp1252"
    assert encodings["customer_returns/jp_cp932.tsv"] == "cp932"
    assert encodings["ledger_summary/resaved_utf16.txt"] == "utf-16"
    assert encodings["ledger_detail/seller_central_download.csv"] == "utf-8-sig"
    assert (
        count(
            workspace,
            "SELECT count(*) FROM reimbursements WHERE product_name = 'Red Mug® 12oz – gift'",
        )
        == 3
    )
    texts = "".join(
        str(r) for r in workspace.con.execute("SELECT * FROM customer_returns_rows").fetchall()
    )
    assert "\ufffd" not in texts
    assert "赤いマグカップ" in texts


def test_a_json_file_that_is_not_an_inbound_payload(workspace: Workspace, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"payload": {"Orders": []}}')
    (result,) = import_paths(workspace, [other])
    assert result.status == "failed"
    assert "not an Inbound API payload" in (result.problem or "")


def test_quoted_csv_value_spanning_lines(workspace: Workspace, tmp_path: Path) -> None:
    header = '"' + '","'.join(LEDGER_HEADER) + '"\n'
    row = ledger_row("05/01/2026", "-1")
    row[4] = "Red Mug\nsecond line"
    path = tmp_path / "ledger.csv"
    path.write_text(
        header
        + '"'
        + '","'.join(row)
        + '"\n'
        + '"'
        + '","'.join(ledger_row("05/02/2026", "-2"))
        + '"\n'
    )
    (result,) = import_paths(workspace, [path])
    assert (result.rows, result.rejects) == (2, 0)
    assert workspace.con.execute(
        "SELECT line, title FROM ledger_detail ORDER BY line"
    ).fetchall() == [(2, "Red Mug\nsecond line"), (4, "Red Mug")]


def test_progress_reaches_the_reporter(workspace: Workspace) -> None:
    seen: list[str] = []

    class Recorder:
        def file_started(self, name: str, size: int) -> None:
            seen.append(f"start {Path(name).name} {size}")

        def advance(self, amount: int) -> None:
            seen.append(f"advance {amount}")

        def phase(self, text: str) -> None:
            seen.append(text)

        def file_finished(self) -> None:
            seen.append("done")

    path = REPORTS / "reimbursements/us_cp1252.tsv"
    import_paths(workspace, [path], reporter=Recorder())
    size = path.stat().st_size
    assert seen[0] == f"start us_cp1252.tsv {size}"
    assert seen.count(f"advance {size}") == 2  # copied, then decoded
    steps = [s.split(": ", 1)[1] for s in seen if s.startswith("FBA Reimbursements: ")]
    assert steps == ["decoding", "reading the rows", "checking every value", "storing the rows"]
    assert seen[-1] == "done"


def test_stream_sizes_are_exact(workspace: Workspace) -> None:
    path = REPORTS / "settlements/v2_de.tsv"
    import_paths(workspace, [path])
    size = workspace.con.execute("SELECT size_bytes FROM source_files").fetchone()
    assert size == (len(io.BytesIO(path.read_bytes()).getvalue()),)


def test_every_row_of_a_large_file_names_its_own_line(workspace: Workspace, tmp_path: Path) -> None:
    """Large regular files are read in parallel; each row must still carry its physical line.

    The reference id of each row is written as its line number, then compared. One file is
    regular (read verbatim), the other has blank lines (renumbered line by line).
    """
    rows = 300_000  # about 40 MB: DuckDB splits it between threads
    regular, blanks = tmp_path / "regular.tsv", tmp_path / "blanks.tsv"
    with regular.open("w") as a, blanks.open("w") as b:
        a.write(tsv(LEDGER_HEADER))
        b.write(tsv(LEDGER_HEADER))
        for i in range(rows):
            a.write(tsv(ledger_row(f"01/{1 + i % 28:02d}/2026", "-1", str(i + 2))))
            b.write(tsv(ledger_row(f"02/{1 + i % 28:02d}/2026", "-1", str(2 * i + 2))))
            b.write("\n")
    results = import_paths(workspace, [regular, blanks], marketplace="US")
    assert [(r.rows, r.rejects) for r in results] == [(rows, 0), (rows, 0)]
    assert (
        count(
            workspace,
            "SELECT count(*) FROM ledger_detail_rows WHERE CAST(reference_id AS BIGINT) <> line",
        )
        == 0
    )
