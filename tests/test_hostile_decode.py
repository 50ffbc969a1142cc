"""Decoding never silently changes or loses a line (issue 20).

Each case is a small file built here: a stray byte in a UTF-8 report, classic Mac (CR) line ends,
a value too long to store, a column printed twice. Through `import_paths`, and through the
command line in its own process for one case of each kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recoup.ingest import import_paths
from recoup.ingest.decode import HEAD_BYTES, MAX_LINE_BYTES, MAX_VALUE_BYTES
from recoup.workspace import Workspace
from tests.cli_process import recoup
from tests.conftest import DATA, count

REPORTS = DATA / "reports"
REAL = Path(__file__).resolve().parents[2] / "shared/samples/real/public-repos"
JEMAGEE = REAL / "settlement_v2/jemagee__SellerCentral__SC_test_File"
PERRY = REAL / "customer_returns/ChristopherPerry6060__tbs__CustomerReturns.csv"

REIMBURSEMENTS_HEADER = (
    "approval-date\treimbursement-id\tcase-id\tamazon-order-id\treason\tsku\tfnsku\tasin\t"
    "product-name\tcondition\tcurrency-unit\tamount-per-unit\tamount-total\t"
    "quantity-reimbursed-cash\tquantity-reimbursed-inventory\tquantity-reimbursed-total\t"
    "original-reimbursement-id\toriginal-reimbursement-type"
)


def reimbursement(number: int, product: str = "Caf\u00e9 Mug 12oz") -> str:
    """One reimbursement line; `number` is its physical line number in the file."""
    return (
        f"2026-05-12T09:59:13+00:00\t79{number:08d}\t\t\tLost_Warehouse\tMUG-RED\tX001AAA111\t"
        f"B0AAA11111\t{product}\tNewItem\tUSD\t6.38\t12.76\t2\t0\t2\t\t"
    )


def reimbursements(lines: int, product: str = "Caf\u00e9 Mug 12oz") -> list[str]:
    """A header and data lines 2..lines, as text."""
    return [REIMBURSEMENTS_HEADER] + [reimbursement(n, product) for n in range(2, lines + 1)]


def spoil(lines: list[str], numbers: list[int], encoding: str = "utf-8") -> bytes:
    """The file's bytes with a stray 0xff after the reimbursement id of each line numbered."""
    out = []
    for number, line in enumerate(lines, start=1):
        data = line.encode(encoding)
        if number in numbers:
            data = data.replace(f"79{number:08d}".encode(), f"79{number:08d}".encode() + b"\xff")
        out.append(data)
    return b"\n".join(out) + b"\n"


def rejects(ws: Workspace) -> list[tuple[object, ...]]:
    return ws.con.execute(
        "SELECT line, column_name, raw_text, problem FROM rejects ORDER BY line"
    ).fetchall()


def products(ws: Workspace) -> set[str]:
    found = ws.con.execute("SELECT DISTINCT product_name FROM reimbursements").fetchall()
    return {r[0] for r in found}


# -- 1. one invalid byte does not decide the encoding of the whole file --------------------------


def test_a_stray_byte_in_a_utf8_file_rejects_its_line_only(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(spoil(reimbursements(200), [22]))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.status, result.encoding, result.rows, result.rejects) == (
        "imported", "utf-8", 198, 1,
    )  # fmt: skip
    assert products(workspace) == {"Caf\u00e9 Mug 12oz"}
    ((line, column, raw, problem),) = rejects(workspace)
    assert (line, column) == (22, None)
    assert raw == reimbursement(22).replace("7900000022", "7900000022\\xff")
    assert problem == "cannot be decoded as UTF-8 (byte 0xff at column 37)"
    assert count(workspace, "SELECT count(*) FROM reimbursements_rows WHERE line = 22") == 0


def test_a_stray_byte_after_the_head_is_the_same_case(workspace: Workspace, tmp_path: Path) -> None:
    lines = reimbursements(3000)
    assert len("\n".join(lines[:2500]).encode()) > HEAD_BYTES
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(spoil(lines, [2500, 2990]))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.encoding, result.rows, result.rejects) == ("utf-8", 2997, 2)
    assert products(workspace) == {"Caf\u00e9 Mug 12oz"}
    assert [r[0] for r in rejects(workspace)] == [2500, 2990]


def test_an_ascii_head_does_not_decide_for_utf8_text_later(
    workspace: Workspace, tmp_path: Path
) -> None:
    """ASCII with a stray byte on line 3: cp1252 reads the head, but the UTF-8 text after it
    says UTF-8 (reading it as cp1252 would turn every Café into CafÃ©)."""
    lines = reimbursements(3000, product="Red Mug 12oz")
    lines[2800] = reimbursement(2801)  # the only UTF-8 text, after the head
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(spoil(lines, [3]))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.encoding, result.rows, result.rejects) == ("utf-8", 2998, 1)
    assert products(workspace) == {"Red Mug 12oz", "Caf\u00e9 Mug 12oz"}


def test_many_undecodable_lines_refuse_the_file(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(spoil(reimbursements(2000), list(range(30, 1000, 80))))  # 13 lines
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert result.status == "failed"
    assert f"{path}, line 30: cannot be decoded as UTF-8 (byte 0xff at column 37)" in str(
        result.problem
    )
    assert count(workspace, "SELECT count(*) FROM source_files") == 0


def test_a_few_bad_lines_in_a_short_file_refuse_it(workspace: Workspace, tmp_path: Path) -> None:
    """One line in fifty is more than a few: the file is refused, naming the line."""
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(spoil(reimbursements(50), [7]))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert result.status == "failed"
    assert "line 7: cannot be decoded as UTF-8" in str(result.problem)


def test_a_genuine_cp1252_file_is_still_cp1252(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(("\n".join(reimbursements(300)) + "\n").encode("cp1252"))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.encoding, result.rows, result.rejects) == ("cp1252", 299, 0)
    assert products(workspace) == {"Caf\u00e9 Mug 12oz"}


def test_a_cp932_file_with_a_line_that_happens_to_be_utf8(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Half-width katakana in Shift-JIS can form valid UTF-8 by chance (ﾏｸ is 0xCF 0xB8, which
    is UTF-8 for ϸ). Among hundreds of lines only cp932 reads, that chance line is cp932 too."""
    lines = reimbursements(400, product="\u8d64\u3044\u30de\u30b0")  # 赤いマグ
    lines[200] = reimbursement(201, product="\uff8f\uff78")  # ﾏｸ
    assert "\uff8f\uff78".encode("cp932").decode("utf-8") == "\u03f8"
    path = tmp_path / "returns.tsv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp932"))
    (result,) = import_paths(workspace, [path], marketplace="JP")
    assert (result.encoding, result.rows, result.rejects) == ("cp932", 399, 0)
    assert products(workspace) == {"\u8d64\u3044\u30de\u30b0", "\uff8f\uff78"}


def test_mixed_encodings_are_refused(workspace: Workspace, tmp_path: Path) -> None:
    """cp1252 rows appended to a UTF-8 file: neither reading is right for every line."""
    head = reimbursements(100)
    tail = [reimbursement(n) for n in range(101, 301)]
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(("\n".join(head) + "\n").encode() + ("\n".join(tail) + "\n").encode("cp1252"))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert result.status == "failed"
    assert "line 101: cannot be decoded as UTF-8 (byte 0xe9 at column 88)" in str(result.problem)


@pytest.mark.skipif(not PERRY.exists(), reason="the real samples are not here")
def test_a_real_cp1252_returns_file_reads_as_before(workspace: Workspace) -> None:
    (result,) = import_paths(workspace, [PERRY], marketplace="US")
    assert (result.encoding, result.rows, result.rejects) == ("cp1252", 2187, 0)
    assert (
        count(workspace, "SELECT count(*) FROM customer_returns WHERE product_name LIKE '%\u00a0%'")
        > 0
    )


def test_the_cli_names_the_undecodable_line(tmp_path: Path) -> None:
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(spoil(reimbursements(200), [22]))
    ran = recoup("import", "--marketplace", "US", path, workspace=tmp_path / "ws")
    assert ran.code == 1
    assert "1 row(s) of" in ran.out
    assert "line 22: cannot be decoded as UTF-8 (byte 0xff at column 37)" in ran.out
    again = recoup("import", "--accept-rejects", path, workspace=tmp_path / "ws2")
    assert again.code == 0, again.text


# -- 2. CR line ends (Excel for Mac) -------------------------------------------------------------


def test_cr_line_ends_read_every_row(workspace: Workspace, tmp_path: Path) -> None:
    text = (REPORTS / "customer_returns/us.tsv").read_text()
    path = tmp_path / "returns.tsv"
    path.write_bytes(text.replace("\n", "\r").encode())
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.status, result.rows, result.rejects) == ("imported", 3, 0)
    lines = workspace.con.execute("SELECT line FROM customer_returns_rows ORDER BY 1").fetchall()
    assert lines == [(2,), (3,), (5,)]  # line 4 is blank


def test_cr_line_ends_name_the_right_line_in_rejects(workspace: Workspace, tmp_path: Path) -> None:
    lines = reimbursements(40)
    lines[29] = lines[29].replace("\t6.38\t", "\tsix\t")  # line 30
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(("\r".join(lines) + "\r").encode())
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.rows, result.rejects) == (38, 1)
    assert [r[:2] for r in rejects(workspace)] == [(30, "amount-per-unit")]


def test_a_stray_byte_in_a_cr_file_names_its_line(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "reimbursements.tsv"
    path.write_bytes(spoil(reimbursements(200), [150]).replace(b"\n", b"\r"))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.encoding, result.rows, result.rejects) == ("utf-8", 198, 1)
    assert [r[0] for r in rejects(workspace)] == [150]


def test_a_large_cr_ledger_imports_every_row(workspace: Workspace, tmp_path: Path) -> None:
    """At the old quadratic speed this took hours (100 rows: 19 s)."""
    header, row = (REPORTS / "ledger_detail/us_spaced_2026.tsv").read_text().splitlines()[:2]
    path = tmp_path / "ledger.tsv"
    path.write_bytes(("\r".join([header] + [row] * 5000) + "\r").encode())
    (result,) = import_paths(workspace, [path])
    assert (result.status, result.rows, result.rejects) == ("imported", 5000, 0)
    assert count(workspace, "SELECT max(line) FROM ledger_detail_rows") == 5001


@pytest.mark.skipif(
    not JEMAGEE.with_suffix(".csv").exists(), reason="the real samples are not here"
)
def test_a_real_mac_excel_settlement_imports_like_its_tab_original(tmp_path: Path) -> None:
    """SC_test_File.csv is SC_test_File.txt re-saved by Excel for Mac: commas, CR line ends, no
    final line end. Excel also printed two ids in scientific notation (order-item-code
    07821148853890 as 7.82115E+12): every other value of every row is the same."""
    read = (
        "SELECT * EXCLUDE (file_id, order_item_code, merchant_adjustment_item_id) "
        "FROM settlements ORDER BY line"
    )
    found = {}
    for suffix in (".txt", ".csv"):
        with Workspace(tmp_path / suffix.strip(".")) as ws:
            (result,) = import_paths(ws, [JEMAGEE.with_suffix(suffix)], marketplace="US")
            assert (result.status, result.rows, result.rejects) == ("imported", 2599, 0)
            found[suffix] = ws.con.execute(read).fetchall()
    assert found[".csv"] == found[".txt"]
    assert [row[2] for row in found[".csv"][:2]] == [3, 4]  # line 2 is the summary
    assert found[".csv"][-1][2] == 2601  # the last line, which has no line end


def test_the_cli_reads_a_cr_file(tmp_path: Path) -> None:
    text = (REPORTS / "customer_returns/us.tsv").read_text()
    path = tmp_path / "returns.tsv"
    path.write_bytes(text.replace("\n", "\r").encode())
    ran = recoup("import", "--marketplace", "US", path, workspace=tmp_path / "ws")
    assert ran.code == 0, ran.text
    assert "customer_returns" in ran.out
    assert " 3 " in ran.out


# -- 3. a value too long to store ----------------------------------------------------------------


def write_returns_with_a_long_value(path: Path, size: int) -> None:
    """Returns lines 2..4, line 3's customer comment `size` bytes long (written in chunks)."""
    header, first, second, _blank, third = (
        (REPORTS / "customer_returns/us.tsv").read_text().splitlines()
    )
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(f"{header}\n{first}\n{second}")
        piece = "x" * (1 << 20)
        for _ in range(size >> 20):
            out.write(piece)
        out.write("x" * (size & ((1 << 20) - 1)))
        out.write(f"\n{third}\n")


def test_a_value_longer_than_the_limit_is_a_reject(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "returns.tsv"
    write_returns_with_a_long_value(path, MAX_VALUE_BYTES + 1)
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.status, result.rows, result.rejects) == ("imported", 2, 1)
    ((line, column, raw, problem),) = rejects(workspace)
    assert (line, column) == (3, "customer-comments")
    assert problem == f"a value longer than {MAX_VALUE_BYTES >> 20} MB"
    assert len(str(raw)) < 1000


def test_a_line_longer_than_duckdb_reads_is_a_reject(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "returns.tsv"
    write_returns_with_a_long_value(path, MAX_LINE_BYTES + 1)
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.status, result.rows, result.rejects) == ("imported", 2, 1)
    ((line, column, _raw, problem),) = rejects(workspace)
    assert (line, column) == (3, "customer-comments")
    assert problem == f"a value longer than {MAX_VALUE_BYTES >> 20} MB"
    assert count(workspace, "SELECT max(line) FROM customer_returns_rows") == 4


def test_the_cli_reports_a_value_too_long(tmp_path: Path) -> None:
    path = tmp_path / "returns.tsv"
    write_returns_with_a_long_value(path, MAX_VALUE_BYTES + 1)
    ran = recoup("import", "--marketplace", "US", path, workspace=tmp_path / "ws")
    assert ran.code == 1
    assert "line 3, column 'customer-comments': a value longer than" in ran.out


# -- 4. a column printed twice -------------------------------------------------------------------


def returns_with(columns: str, values: list[str]) -> str:
    """The returns fixture with more columns (tab-separated) after its last one."""
    lines = [ln for ln in (REPORTS / "customer_returns/us.tsv").read_text().splitlines() if ln]
    return "".join(
        f"{line}\t{value}\n" for line, value in zip(lines, [columns, *values], strict=True)
    )


def warnings(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.con.execute("SELECT message FROM import_warnings").fetchall()]


def test_a_column_printed_twice_with_the_same_values_is_a_warning(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "returns.tsv"
    path.write_text(returns_with("SKU", ["MUG-RED"] * 3))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.status, result.rows, result.rejects) == ("imported", 3, 0)
    message = 'line 1: the column "sku" appears twice (columns 3 and 14); recoup read column 3'
    assert message in result.warnings
    assert message in warnings(workspace)


def test_an_unused_column_printed_twice_is_a_warning(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "returns.tsv"
    path.write_text(returns_with("note\tNote", ["a\tb", "c\td", "e\tf"]))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert (result.rows, result.rejects) == (3, 0)
    assert warnings(workspace) == [
        'line 1: the column "note" appears twice (columns 14 and 15); recoup does not read it'
    ]


def test_a_column_printed_twice_with_other_values_refuses_the_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "returns.tsv"
    path.write_text(returns_with("sku", ["MUG-RED", "MUG-BLUE", "MUG-RED"]))
    (result,) = import_paths(workspace, [path], marketplace="US")
    assert result.status == "failed"
    assert (
        f'{path}, line 3: the column "sku" appears twice (columns 3 and 14) and the two differ '
        "(MUG-RED, MUG-BLUE): recoup cannot tell which is right"
    ) in str(result.problem)
    assert count(workspace, "SELECT count(*) FROM source_files") == 0


def test_the_cli_shows_a_column_printed_twice(tmp_path: Path) -> None:
    path = tmp_path / "returns.tsv"
    path.write_text(returns_with("sku", ["MUG-RED"] * 3))
    ran = recoup("import", "--marketplace", "US", path, workspace=tmp_path / "ws")
    assert ran.code == 0, ran.text
    assert 'the column "sku" appears twice (columns 3 and 14); recoup read column 3' in ran.out
