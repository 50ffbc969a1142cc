"""Every line imported as it is written, or a reject or warning that names it: nothing is lost,
rounded or hidden without a message (issue 20's silent changes)."""

from __future__ import annotations

from pathlib import Path

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
