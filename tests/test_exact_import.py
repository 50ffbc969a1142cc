"""Every line imported as it is written, or a reject or warning that names it: nothing is lost,
rounded or hidden without a message (issue 20's silent changes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from recoup import clock
from recoup.ingest import import_paths
from recoup.status import workspace_status
from recoup.workspace import Workspace
from tests.conftest import DATA, count

ALL_ORDERS_HEADER = (DATA / "reports/all_orders/us_first.tsv").read_text().splitlines()[0]


def order_line(order: str, sku: str, status: str = "Shipped", url: str = "") -> str:
    """An All Orders line in the fixture's layout; `url` goes where a personalised item's
    customisation would make two lines of one SKU differ."""
    template = (DATA / "reports/all_orders/us_later.tsv").read_text().splitlines()[1].split("\t")
    names = ALL_ORDERS_HEADER.split("\t")
    line = dict(zip(names, template, strict=False))
    line |= {"amazon-order-id": order, "sku": sku, "order-status": status, "item-status": status,
             "ship-city": url or line["ship-city"]}  # fmt: skip
    return "\t".join(line[n] for n in names)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([ALL_ORDERS_HEADER, *lines]) + "\n")
    return path


def test_all_orders_keeps_every_line_of_the_newest_download(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = write(
        tmp_path / "first.tsv",
        order_line("111-0000001-0000001", "MUG", "Pending"),
        order_line("111-0000001-0000001", "CAP", "Pending"),
        order_line("111-0000002-0000002", "SIGN", url="A"),
        order_line("111-0000002-0000002", "SIGN", url="B"),
        order_line("111-0000003-0000003", "SIGN"),
        order_line("111-0000003-0000003", "SIGN"),  # the same line twice: two items
    )
    [done] = import_paths(workspace, [first])
    assert done.rows == 6
    assert workspace_status(workspace.con)["all_orders"]["rows"] == 6
    # Later, the CAP line of order 1 was cancelled out of it: the newer download replaces the
    # order as a whole, and keeps orders 2 and 3 from the first download as they were.
    later = write(tmp_path / "later.tsv", order_line("111-0000001-0000001", "MUG"))
    import_paths(workspace, [later])
    assert workspace_status(workspace.con)["all_orders"]["rows"] == 5
    assert count(workspace, "SELECT count(*) FROM all_orders WHERE sku = 'CAP'") == 0
    assert count(workspace, "SELECT count(*) FROM all_orders WHERE order_status = 'Shipped'") == 5


RETURNS = (DATA / "reports/customer_returns/us.tsv").read_text().splitlines()


def returns_line(date: str, quantity: str = "1") -> str:
    fields = RETURNS[1].split("\t")
    fields[0], fields[6] = date, quantity
    return "\t".join(fields)


def rejects(ws: Workspace) -> list[tuple[int, str, str, str]]:
    return ws.con.execute(
        "SELECT line, column_name, raw_text, problem FROM rejects ORDER BY line"
    ).fetchall()


def test_one_implausible_date_never_hides_other_files_rows(
    workspace: Workspace, tmp_path: Path
) -> None:
    earlier = tmp_path / "earlier.tsv"
    earlier.write_text("\n".join([RETURNS[0], *(returns_line(f"2026-03-{d:02}") for d in
                                                 range(1, 29))]) + "\n")  # fmt: skip
    import_paths(workspace, [earlier], marketplace="US")
    later = tmp_path / "later.tsv"
    lines = [returns_line("1970-01-01"), returns_line("2026-04-02"), returns_line("2099-01-01")]
    later.write_text("\n".join([RETURNS[0], *lines]) + "\n")
    [done] = import_paths(workspace, [later], marketplace="US")
    assert (done.rows, done.rejects) == (1, 2)
    assert [(line, problem) for line, _, _, problem in rejects(workspace)] == [
        (2, "dated 1970-01-01, more than 3 years before this account's other reports "
            "(from 2026-03-01)"),
        (4, f"dated 2099-01-01, after the import day ({clock.today()})"),
    ]  # fmt: skip
    assert count(workspace, "SELECT count(*) FROM customer_returns") == 29
    # What the later file proves absent is its own days, not 1970 to 2099 (principle 11).
    assert workspace.con.execute(
        "SELECT first_day, last_day FROM file_coverage WHERE file_id = ?", [done.file_id]
    ).fetchall() == [(dt.date(2026, 4, 2), dt.date(2026, 4, 2))]


def test_an_old_file_alone_is_not_implausible(workspace: Workspace, tmp_path: Path) -> None:
    """Dates are judged against the file's own middle date too: a 2015 download imported into
    a 2026 account is history, not a typo."""
    import_paths(workspace, [DATA / "reports/customer_returns/us.tsv"], marketplace="US")
    old = tmp_path / "old.tsv"
    old.write_text("\n".join([RETURNS[0], returns_line("2015-06-01"), returns_line("2015-06-02")]))
    [done] = import_paths(workspace, [old], marketplace="US")
    assert (done.rows, done.rejects) == (2, 0)


def test_negative_counts_and_costs_are_rejects(workspace: Workspace, tmp_path: Path) -> None:
    returns = tmp_path / "returns.tsv"
    returns.write_text("\n".join([RETURNS[0], returns_line("2026-03-01", "-2"),
                                  returns_line("2026-03-02", "3")]) + "\n")  # fmt: skip
    costs = tmp_path / "costs.csv"
    costs.write_text("sku,unit_cost,currency\nMUG,-7.25,USD\nCAP,4.10,USD\n")
    results = import_paths(workspace, [returns, costs], marketplace="US")
    assert [(r.rows, r.rejects) for r in results] == [(1, 1), (1, 1)]
    assert [(c, raw, p) for _, c, raw, p in rejects(workspace)] == [
        ("quantity", "-2", "cannot be negative"),
        ("unit_cost", "-7.25", "cannot be negative"),
    ]


def test_amounts_finer_than_a_cent_are_rounded_with_a_warning(
    workspace: Workspace, tmp_path: Path
) -> None:
    costs = tmp_path / "costs.csv"
    costs.write_text("sku,unit_cost,currency\nMUG,12.345,USD\nCAP,4.1000,USD\nHAT,3.999,USD\n")
    [done] = import_paths(workspace, [costs], marketplace="US")
    assert (done.rows, done.rejects) == (3, 0)
    assert done.warnings == [
        "line 2, column unit_cost: 12.345 has more than two decimals and is stored rounded to "
        "the cent (2 value(s) in this column)"
    ]


def test_a_settlement_without_its_summary_line_is_rejects_not_lost_rows(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The summary line carries the total the other lines must add up to. A file without it
    (the synthetic V1 sample sellers publish) said '12 rows' and stored none."""
    lines = (DATA / "reports/settlements/v2_us.tsv").read_text().splitlines()
    headless = tmp_path / "settlement.tsv"
    headless.write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    [done] = import_paths(workspace, [headless])
    assert (done.rows, done.rejects) == (0, sum(1 for line in lines[2:] if line.strip()))
    first = rejects(workspace)[0]
    assert first[:2] == (2, "total-amount")
    assert first[3].startswith("settlement 11122233344 has no summary line")
    assert workspace_status(workspace.con)["settlements"]["rows"] == 0
    assert count(workspace, "SELECT count(*) FROM settlements_rows") == 0
