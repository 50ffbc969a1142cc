"""The simulated seller account: its own invariants, determinism, and a round trip through import.

The answer key must be right on its own terms before it can judge the audit: these tests check it
against the events and the written reports, never against recoup's rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from recoup.ingest import import_paths
from recoup.simulate import SimConfig, Simulated, simulate
from recoup.simulate.account import settlement_of, settlement_periods
from recoup.simulate.seller import Seller
from recoup.workspace import Workspace
from tests.conftest import count

# One worker runs the whole module: its module fixtures are built once.
pytestmark = pytest.mark.xdist_group("simulate")

AS_OF = dt.date(2026, 11, 28)
SMALL = SimConfig(seed=3, months=6, scale=0.5, as_of=AS_OF)
KINDS = {
    "warehouse_lost", "warehouse_damaged", "disposed_unauthorized", "return_not_received",
    "return_damaged_by_amazon", "inbound_shortage", "removal_short", "reimbursement_underpaid",
    "reversal_unmatched", "refund_overcharge",
}  # fmt: skip
UNIT_KINDS = KINDS - {"refund_overcharge", "reimbursement_underpaid", "reversal_unmatched"}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    return simulate(SMALL, tmp_path_factory.mktemp("small"), quirks=True)


@pytest.fixture(scope="module", params=["US", "DE"])
def default_account(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                    ) -> Simulated:  # fmt: skip
    config = SimConfig(marketplace=request.param, as_of=AS_OF)
    return simulate(config, tmp_path_factory.mktemp(request.param))


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path, small: Simulated) -> None:
    again = simulate(SMALL, tmp_path / "again", quirks=True)
    first = small.answer_key.parent
    assert _digest(first) == _digest(tmp_path / "again")
    other = simulate(SimConfig(seed=4, months=6, scale=0.5, as_of=AS_OF), tmp_path / "other")
    assert again.findings != other.findings


def test_stock_is_never_negative_per_fnsku_and_centre(small: Simulated) -> None:
    """The ledger's running total per FNSKU and FC, day by day, never drops below zero."""
    moves: dict[tuple[str, str], Counter[dt.date]] = defaultdict(Counter)
    for row in small.account.rows["ledger_detail"]:
        v = row.values
        moves[str(v["fnsku"]), str(v["fulfillment_center"])][v["date"]] += int(v["quantity"])  # type: ignore[index,call-overload]
    for sale in small.account.sales:
        moves[sale.product.fnsku, sale.product.fulfillment_center][sale.day] -= sale.quantity
    for key, by_day in moves.items():
        running = 0
        for day in sorted(by_day):
            running += by_day[day]
            assert running >= 0, (key, day)


def test_identical_ledger_rows_occur_as_separate_events(small: Simulated) -> None:
    """Two single-unit sales of a SKU on one day print identical ledger rows: both count."""
    ledger = [p for p in small.reports if p.name.startswith("ledger-detail-")]
    printed = Counter(line for p in ledger for line in p.read_text().splitlines()[1:])
    assert max(printed.values()) > 1


def test_nothing_happens_after_the_as_of_date(small: Simulated) -> None:
    for rows in small.account.rows.values():
        for row in rows:
            for value in row.values.values():
                if isinstance(value, dt.date) and row.report != "sourcing_costs":
                    assert value <= AS_OF


def test_every_report_row_was_written_once_and_traces_to_an_event(small: Simulated) -> None:
    """Each data line of each file is one row the simulator made (the ledger's monthly files
    overlap by a few days: their rows are written twice, and count once per day on import)."""
    lines = {p.name: len(p.read_bytes().splitlines()) - 1 for p in small.reports}
    written: Counter[str] = Counter()
    for report, rows in small.account.rows.items():
        for row in rows:
            assert row.file, (report, row.values)
            assert row.line >= 2, (report, row.values)
            written[row.file] += 1
    for event in small.account.settled():
        assert event.line >= 3, event.cite(0).evidence()
        written[event.file] += len(event.amounts())
    periods = settlement_periods(small.config)
    for sale in small.account.settled_sales():
        if sale.order is None:  # printed without evidence; its settlement is found by date
            written[f"settlement-{settlement_of(small.config, periods, sale.day)}.txt"] += 3
    for name, count_ in lines.items():
        if name.startswith("settlement-"):
            assert written[name] == count_ - 1  # the summary row
        elif not name.startswith("ledger-detail-"):
            assert written[name] == count_, name


def test_answer_key_units_add_up_with_the_events(default_account: Simulated) -> None:
    account, findings = default_account.account, default_account.findings
    by_kind: dict[str, int] = Counter()
    for finding in findings:
        by_kind[str(finding["kind"])] += int(finding["quantity"])  # type: ignore[call-overload]
        amount, unit = Decimal(str(finding["amount"])), Decimal(str(finding["unit_value"]))
        if finding["kind"] in UNIT_KINDS:
            assert amount == unit * int(finding["quantity"]), finding  # type: ignore[call-overload]
        assert int(finding["quantity"]) >= 0  # type: ignore[call-overload]
        assert amount >= 0
        assert finding["window_opens"] <= finding["window_closes"]  # type: ignore[operator]
    unreconciled = sum(a.unreconciled for a in account.adjustments if a.reason in ("M", "5"))
    assert by_kind["warehouse_lost"] == unreconciled
    printed = sum(
        int(r.values.get("unreconciled_quantity") or 0)  # type: ignore[call-overload]
        for r in account.rows["ledger_detail"]
        if r.values.get("reason") in ("M", "5")
    )
    assert by_kind["warehouse_lost"] == printed
    short = sum(i.shipped - i.received for s in account.shipments if s.status == "CLOSED"
                for i in s.items)  # fmt: skip
    paid = sum(r.quantity_total for r in account.reimbursements if r.reason == "Lost_Inbound")
    assert short - paid <= by_kind["inbound_shortage"] <= short
    never_back = sum(
        1 for r in account.refunds if r.settled and r.order.order_id not in
        {b.order.order_id for b in account.returns}
    )  # fmt: skip
    assert by_kind["return_not_received"] <= never_back * 2


def test_every_kind_and_every_case_not_to_claim_occurs(default_account: Simulated) -> None:
    account, findings = default_account.account, default_account.findings
    kinds = {f["kind"] for f in findings}
    expected = KINDS if account.market.code == "US" else KINDS - {"reimbursement_underpaid"}
    assert kinds == expected  # no cost-basis reimbursements in DE yet
    assert {f["state"] for f in findings} == {"claimable", "not_yet", "expired"}
    claimable = {f["kind"] for f in findings if f["state"] == "claimable"}
    # The rare kinds (removals, disposals, reversals) are claimable in some months only.
    assert claimable >= {
        "warehouse_lost", "warehouse_damaged", "return_not_received",
        "return_damaged_by_amazon", "inbound_shortage", "refund_overcharge",
    }  # fmt: skip
    # What must not be claimed is there too, for the audit to get right.
    reasons = Counter(a.reason for a in account.adjustments)
    assert reasons["F"]  # found later
    assert reasons["D"]
    assert any(r.order_type == "Disposal" and r.status == "Completed" for r in account.removals)
    assert any(b.disposition == "CUSTOMER_DAMAGED" for b in account.returns)
    assert any(r.reason == "Reimbursement_Reversal" for r in account.reimbursements)
    assert any(a.reason in ("M", "5") and a.unreconciled == 0 for a in account.adjustments)


def test_same_day_candidates_and_explained_customer_payments_occur(
    default_account: Simulated,
) -> None:
    """The two readings of issue 14: candidates of one day whose own ids order them otherwise
    than the files print them (principle 5), and a late return that explains the reversal of a
    CustomerServiceIssue payment on an order with another refunded unit (principle 7)."""
    account = default_account.account
    closed: dict[tuple[str, dt.date], list[str]] = defaultdict(list)
    for shipment in account.shipments:  # in the order they are printed
        short = sum(i.shipped - i.received for i in shipment.items)
        if shipment.status == "CLOSED" and shipment.last_receipt and short > 0:
            closed[shipment.items[0].product.fnsku, shipment.last_receipt].append(
                shipment.shipment_id
            )
    assert any(len(ids) > 1 and ids != sorted(ids) for ids in closed.values())
    returned = {b.order.order_id for b in account.returns}
    reversed_ids = {r.original_id for r in account.reimbursements if r.original_id}
    assert any(
        r.reason == "CustomerServiceIssue"
        and r.reimbursement_id in reversed_ids
        and r.order_id in returned
        and any(o.order_id == r.order_id and o.quantity > r.quantity_total for o in account.orders)
        for r in account.reimbursements
    )


def test_an_import_round_trip_lands_every_row(small: Simulated, tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as workspace:
        results = import_paths(workspace, small.reports, marketplace="US")
        assert {r.status for r in results} == {"imported"}
        assert sum(r.rejects for r in results) == 0
        rows = small.account.rows
        for table, report in (
            ("ledger_detail", "ledger_detail"),
            ("reimbursements", "reimbursements"),
            ("customer_returns", "customer_returns"),
            ("removal_orders", "removal_orders"),
            ("removal_shipments", "removal_shipments"),
            ("inbound_shipment_items", "inbound_shipment_items"),
        ):
            held = len(rows[report]) + (len(small.account.sales) if table == "ledger_detail" else 0)
            assert count(workspace, f"SELECT count(*) FROM {table}") == held, table
        lines = sum(len(event.amounts()) for event in small.account.settled())
        lines += 3 * sum(1 for sale in small.account.settled_sales() if sale.order is None)
        assert count(workspace, "SELECT count(*) FROM settlements") == lines
        # The answer key's evidence names rows that the workspace holds, at those lines.
        for finding in small.findings:
            for cited in finding["evidence"]:  # type: ignore[attr-defined]
                table = {"settlement_v2": "settlements"}.get(cited["report"], cited["report"])
                held = count(
                    workspace,
                    f"SELECT count(*) FROM {table} t JOIN source_files f USING (file_id) "
                    f"WHERE f.name LIKE '%{cited['file']}' AND t.line = {cited['line']}",
                )
                assert held >= 1, cited


def test_answer_key_files_follow_the_export_contract(small: Simulated) -> None:
    header = small.answer_key.read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "finding_id,kind,marketplace,fnsku,msku,asin,fulfillment_center,reference_id,order_id,"
        "shipment_id,removal_order_id,reimbursement_id,event_date,quantity,unit_value,amount,"
        "currency,value_basis,window_opens,window_closes,state,evidence,needs"
    )
    as_json = json.loads(small.answer_key.with_suffix(".json").read_text(encoding="utf-8"))
    assert as_json == small.findings
    assert len({f["finding_id"] for f in as_json}) == len(as_json)


def test_scale_grows_the_account() -> None:
    small = Seller(SimConfig(seed=1, months=2, scale=0.25, as_of=AS_OF)).run()
    big = Seller(SimConfig(seed=1, months=2, scale=1.0, as_of=AS_OF)).run()
    assert len(big.sales) > 3 * len(small.sales)


def test_worker_processes_write_exactly_what_one_process_writes(tmp_path: Path) -> None:
    """Large accounts are simulated in worker processes that each write a part of every file;
    joined, the files and the answer key (its evidence lines) are identical byte for byte."""
    config = SimConfig(seed=5, months=3, scale=2.6, as_of=AS_OF)  # 104 products: 3 batches
    here = simulate(config, tmp_path / "here", quirks=True)
    there = simulate(config, tmp_path / "there", quirks=True, keep_events=False, workers=2)
    assert len(here.batches) == 3
    assert _digest(tmp_path / "here") == _digest(tmp_path / "there")
    assert here.findings == there.findings


def test_simulating_again_into_a_folder_leaves_no_stale_reports(tmp_path: Path) -> None:
    longer = simulate(SimConfig(seed=2, months=4, scale=0.25, as_of=AS_OF), tmp_path, quirks=True)
    (tmp_path / "reports" / "my-notes.txt").write_text("the seller's own file")
    shorter = simulate(SimConfig(seed=2, months=2, scale=0.25, as_of=AS_OF), tmp_path, quirks=True)
    left = {p.name for p in (tmp_path / "reports").iterdir()}
    assert left == {p.name for p in shorter.reports} | {"my-notes.txt"}
    assert len(longer.reports) > len(shorter.reports)
