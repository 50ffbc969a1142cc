"""Partial accounts (audit-rules.md principle 11): reports left out (`drop`) or downloaded from
a day on (`cut`). The answer key must find only what the written files show, and mark what they
cannot prove `unverified` with the downloads it `needs`.

The first tests check the answer key on its own terms (never against recoup's rules); the
`test_partial_end_to_end_*` tests import the files as `Simulated.import_groups` says and compare
recoup's audit with the answer key exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from recoup import audit as auditing
from recoup.cli import main
from recoup.engines import duckdb_engine
from recoup.ingest import import_paths
from recoup.policy import load_policy
from recoup.simulate import SimConfig, Simulated, key_coverage, simulate
from recoup.simulate.answer_key import COLUMNS
from recoup.simulate.compare import differences
from recoup.simulate.partial import parse_cut, parse_drop
from recoup.workspace import Workspace

# One worker runs the whole module: its module fixtures are built once.
pytestmark = pytest.mark.xdist_group("partial")

AS_OF = dt.date(2026, 11, 28)
LAG = dt.timedelta(days=7)
SMALL = {"seed": 31, "months": 8, "scale": 0.5, "as_of": AS_OF}
CUT = dt.date(2026, 8, 1)
Finding = dict[str, object]


def _simulate(tmp_path: Path, name: str, **partial: object) -> Simulated:
    return simulate(SimConfig(**SMALL, **partial), tmp_path / name)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    return simulate(SimConfig(**SMALL), tmp_path_factory.mktemp("complete"))  # type: ignore[arg-type]


def _of(findings: Iterable[Finding], *kinds: str) -> list[Finding]:
    return [f for f in findings if f["kind"] in kinds]


def _day(finding: Finding, column: str = "event_date") -> dt.date:
    return dt.date.fromisoformat(str(finding[column]))


def _history(simulated: Simulated) -> dt.date:
    return min(spans[0][0] for spans in simulated.coverage.values())


def _needs(simulated: Simulated, report: str, since: dt.date) -> str:
    return f"{report} {max(since, _history(simulated))}..{AS_OF}"


def _units(findings: Iterable[Finding]) -> Counter[tuple[str, str]]:
    units: Counter[tuple[str, str]] = Counter()
    for f in findings:
        units[str(f["kind"]), str(f["order_id"])] += int(f["quantity"])  # type: ignore[call-overload]
    return units


def _unverified(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f["state"] == "unverified"]


def _reaches_as_of(simulated: Simulated, report: str) -> bool:
    spans = simulated.coverage[report]
    return len(spans) == 1 and spans[0][0] == _history(simulated) and spans[0][1] >= AS_OF - LAG


def _rows(path: Path, column: str) -> list[dt.date]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = csv.DictReader(stream, delimiter="\t")
        return [dt.date.fromisoformat(row[column][:10]) for row in rows]


# -- the answer key on its own terms ------------------------------------------------------------


def test_a_complete_account_proves_every_absence(complete: Simulated) -> None:
    assert complete.import_groups == [complete.reports]
    assert complete.findings
    assert not _unverified(complete.findings)
    assert {f["needs"] for f in complete.findings} == {""}
    for report in ("ledger_detail", "reimbursements", "customer_returns", "removal_orders",
                   "removal_shipments", "settlements"):  # fmt: skip
        assert _reaches_as_of(complete, report), report


@pytest.mark.parametrize("marketplace", ["US", "DE"])
def test_default_accounts_have_nothing_unverified(tmp_path: Path, marketplace: str) -> None:
    simulated = simulate(SimConfig(marketplace=marketplace, as_of=AS_OF), tmp_path)
    assert not _unverified(simulated.findings)
    header = simulated.answer_key.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == COLUMNS
    assert COLUMNS[-1] == "needs"


def test_dropping_customer_returns_leaves_every_unreturned_refund_unverified(
    tmp_path: Path, complete: Simulated
) -> None:
    simulated = _simulate(tmp_path, "no-returns", drop=("customer_returns",))
    assert not [p for p in simulated.reports if p.name == "customer-returns.txt"]
    assert not (simulated.reports[0].parent / "customer-returns.txt").exists()
    refunds = _of(simulated.findings, "return_not_received")
    assert len(refunds) > len(_of(complete.findings, "return_not_received"))
    assert _reaches_as_of(simulated, "reimbursements")
    for f in refunds:
        assert f["state"] == "unverified"
        assert f["needs"] == _needs(simulated, "customer_returns", _day(f) - dt.timedelta(45))
    # Returns no longer cancel anything: every refund owes at least what it owed before.
    before, after = _units(complete.findings), _units(simulated.findings)
    for key, units in before.items():
        if key[0] == "return_not_received":
            assert after[key] >= units, key
    # A late return may have explained the reversal of a customer payment: it needs returns.
    reimbursements = {r.reimbursement_id: r for r in simulated.account.reimbursements}
    reversals = _of(simulated.findings, "reversal_unmatched")
    payments = [f for f in reversals
                if reimbursements[str(f["reimbursement_id"])].original_reason
                in ("CustomerReturn", "CustomerServiceIssue")]  # fmt: skip
    assert payments
    for f in payments:
        reversal = reimbursements[str(f["reimbursement_id"])]
        since = max(reimbursements[reversal.original_id].day, _history(simulated))
        assert f["needs"] == f"customer_returns {since}..{min(reversal.day + LAG, AS_OF)}"
    assert _unverified(simulated.findings) == [*refunds, *payments]  # sorted by kind
    # Damaged returns come from the returns report: none. Everything else is as before.
    assert not _of(simulated.findings, "return_damaged_by_amazon")
    others = {str(f["kind"]) for f in complete.findings} - {
        "return_not_received", "return_damaged_by_amazon", "reversal_unmatched"
    }  # fmt: skip
    assert differences(_of(complete.findings, *others), _of(simulated.findings, *others)) == []


def test_dropping_reimbursements_leaves_nothing_cancelled_and_proven(
    tmp_path: Path, complete: Simulated
) -> None:
    simulated = _simulate(tmp_path, "no-reimbursements", drop=("reimbursements",))
    kinds = {f["kind"] for f in simulated.findings}
    assert not kinds & {"reimbursement_underpaid", "reversal_unmatched"}
    cancelled = ("disposed_unauthorized", "return_not_received", "return_damaged_by_amazon",
                 "inbound_shortage", "removal_short")  # fmt: skip
    assert kinds >= set(cancelled)
    for f in _of(simulated.findings, *cancelled):
        assert f["state"] == "unverified", f
        assert str(f["needs"]).startswith("reimbursements "), f
        assert ";" not in str(f["needs"])
    for f in _of(simulated.findings, "return_not_received"):
        assert f["needs"] == _needs(simulated, "reimbursements", _day(f) - dt.timedelta(45))
    # Amazon's own attribution (Unreconciled Quantity) and fee checks need no reimbursements.
    own = ("warehouse_lost", "warehouse_damaged", "refund_overcharge")
    assert not _unverified(_of(simulated.findings, *own))
    assert differences(_of(complete.findings, *own), _of(simulated.findings, *own)) == []
    after = _units(_of(simulated.findings, *cancelled))
    assert sum(after.values()) > sum(_units(_of(complete.findings, *cancelled)).values())


def test_dropping_removals_leaves_disposals_unverified(tmp_path: Path, complete: Simulated) -> None:
    simulated = _simulate(tmp_path, "no-removals", drop=parse_drop(["removals"]))
    assert not [p for p in simulated.reports if p.name.startswith("removal-")]
    assert not _of(simulated.findings, "removal_short")
    disposed = _of(simulated.findings, "disposed_unauthorized")
    assert len(disposed) > len(_of(complete.findings, "disposed_unauthorized"))
    for f in disposed:
        assert f["state"] == "unverified"
        assert f["needs"] == _needs(simulated, "removal_orders", _day(f) - dt.timedelta(90))
    assert _unverified(simulated.findings) == disposed


def test_dropping_settlements_finds_no_refunds(tmp_path: Path, complete: Simulated) -> None:
    simulated = _simulate(tmp_path, "no-settlements", drop=("settlements",))
    assert not [p for p in simulated.reports if p.name.startswith("settlement-")]
    assert not _of(simulated.findings, "return_not_received", "refund_overcharge")
    assert not _unverified(simulated.findings)
    damaged = _of(simulated.findings, "return_damaged_by_amazon")
    assert damaged
    # Without settlements no refund dates the clock and no sale price values the unit.
    assert {(f["value_basis"], f["amount"]) for f in damaged} == {("unknown", "0.00")}
    kept = ("warehouse_lost", "warehouse_damaged", "inbound_shortage", "removal_short",
            "disposed_unauthorized", "reimbursement_underpaid")  # fmt: skip
    assert differences(_of(complete.findings, *kept), _of(simulated.findings, *kept)) == []


def test_a_cut_report_imported_alone_covers_its_own_rows(
    tmp_path: Path, complete: Simulated
) -> None:
    simulated = _simulate(tmp_path, "cut", cut=(("reimbursements", CUT),))
    file = simulated.reports[0].parent / "reimbursements.txt"
    assert simulated.import_groups == [[p for p in simulated.reports if p != file], [file]]
    approved = _rows(file, "approval-date")
    assert approved
    assert min(approved) >= CUT
    assert simulated.coverage["reimbursements"] == [(min(approved), max(approved))]
    first, last = min(approved), max(approved)
    reaches = last >= AS_OF - LAG
    assert _reaches_as_of(simulated, "customer_returns")
    refunds = _of(simulated.findings, "return_not_received")
    for f in refunds:
        since = max(_day(f) - dt.timedelta(45), _history(simulated))
        covered = first <= since and reaches
        assert (f["state"] == "unverified") == (not covered), f
        assert f["needs"] == ("" if covered else f"reimbursements {since}..{AS_OF}")
    assert {f["state"] for f in refunds} >= {"unverified"}
    assert len({f["state"] for f in refunds}) > 1
    for f in _of(simulated.findings, "reimbursement_underpaid"):
        assert (f["state"] == "unverified") == (_day(f) < first or not reaches)
    # Reimbursements before the cut are not seen, so they cancel nothing.
    assert len(_of(simulated.findings, "return_not_received", "inbound_shortage")) > len(
        _of(complete.findings, "return_not_received", "inbound_shortage")
    )


def test_a_cut_imported_with_everything_covers_the_whole_batch(tmp_path: Path) -> None:
    apart = _simulate(tmp_path, "apart", cut=(("reimbursements", CUT),))
    together = _simulate(tmp_path, "together", cut=(("reimbursements", CUT),), one_batch=True)
    assert together.import_groups == [together.reports]
    assert together.coverage["reimbursements"] == together.coverage["ledger_detail"]
    assert not _unverified(together.findings)
    assert _unverified(apart.findings)

    def plain(findings: list[Finding]) -> list[Finding]:
        return [{**f, "state": "", "needs": ""} for f in findings]

    # The same rows are seen either way: only what is proven differs.
    assert plain(apart.findings) == plain(together.findings)


def test_a_cut_ledger_cannot_explain_earlier_reversals(tmp_path: Path) -> None:
    simulated = _simulate(tmp_path, "cut-ledger", cut=(("ledger_detail", CUT),))
    ledger = simulated.coverage["ledger_detail"]
    assert ledger[0][0] >= CUT
    reversals = _of(simulated.findings, "reversal_unmatched")
    assert reversals
    originals = {r.reimbursement_id: r for r in simulated.account.reimbursements}
    for f in reversals:
        reversal = originals[str(f["reimbursement_id"])]
        since = max(originals[reversal.original_id].day, _history(simulated))
        until = min(reversal.day + LAG, AS_OF)
        expected = "" if since >= ledger[0][0] else f"ledger_detail {since}..{until}"
        assert f["needs"] == expected
        assert (f["state"] == "unverified") == bool(expected)


def test_partial_accounts_are_the_same_from_worker_processes(tmp_path: Path) -> None:
    config = SimConfig(seed=5, months=3, scale=2.6, as_of=AS_OF, drop=("customer_returns",),
                       cut=(("ledger_detail", dt.date(2026, 10, 1)),))  # fmt: skip
    here = simulate(config, tmp_path / "here")
    there = simulate(config, tmp_path / "there", keep_events=False, workers=2)
    assert here.findings == there.findings
    assert here.coverage == there.coverage
    assert _unverified(here.findings)


def test_options_parse_report_names() -> None:
    assert parse_drop(["removals", "customer-returns"]) == (
        "removal_orders", "removal_shipments", "customer_returns"
    )  # fmt: skip
    assert parse_cut(["reimbursements:2026-08-01"]) == (("reimbursements", CUT),)
    with pytest.raises(ValueError, match="unknown report"):
        parse_drop(["returns"])
    with pytest.raises(ValueError, match="REPORT:YYYY-MM-DD"):
        parse_cut(["reimbursements"])
    with pytest.raises(ValueError, match="unknown report"):
        parse_cut(["inbound_shipments:2026-08-01"])
    with pytest.raises(ValueError, match="both dropped and cut"):
        simulate(SimConfig(drop=("settlements",), cut=(("settlements", CUT),)), Path("unused"))


def test_cli_simulate_drops_and_cuts(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(
        main,
        ["simulate", str(out), "--months", "4", "--scale", "0.25", "--as-of", str(AS_OF),
         "--drop", "removals", "--cut", "reimbursements:2026-10-01"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    names = {p.name for p in (out / "reports").iterdir()}
    assert "removal-order-detail.txt" not in names
    assert "reimbursements.txt" in names
    assert min(_rows(out / "reports" / "reimbursements.txt", "approval-date")) >= dt.date(
        2026, 10, 1
    )
    key = json.loads((out / "answer-key.json").read_text(encoding="utf-8"))
    assert all(list(f)[-1] == "needs" for f in key)
    done = runner.invoke(main, ["simulate", str(out), "--drop", "returns"])
    assert done.exit_code != 0
    assert "unknown report" in done.output


# -- end to end: recoup's audit of the same files -------------------------------------------------


def _audit(root: Path, simulated: Simulated) -> list[dict[str, object]]:
    with Workspace(root) as ws:
        for group in simulated.import_groups:
            results = import_paths(ws, group, account="demo", marketplace="US")
            assert {r.status for r in results} == {"imported"}
        result = auditing.run(
            duckdb_engine(ws.con), "demo", AS_OF, load_policy(), auditing.file_names(ws.con)
        )
    return result.findings


def _agrees(tmp_path: Path, simulated: Simulated) -> None:
    found = _audit(tmp_path / "ws", simulated)
    assert differences(simulated.findings, found) == []
    assert sum(Decimal(str(f["amount"])) for f in found) > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "dropped",
    [("customer_returns",), ("reimbursements",), ("removal_orders", "removal_shipments"),
     ("settlements",)],
    ids=["customer_returns", "reimbursements", "removals", "settlements"],
)  # fmt: skip
def test_partial_end_to_end_dropped_report(tmp_path: Path, dropped: tuple[str, ...]) -> None:
    _agrees(tmp_path, _simulate(tmp_path, "account", drop=dropped))


@pytest.mark.slow
@pytest.mark.parametrize("report", ["reimbursements", "customer_returns", "ledger_detail"])
def test_partial_end_to_end_cut_report_imported_alone(tmp_path: Path, report: str) -> None:
    simulated = _simulate(tmp_path, "account", cut=((report, CUT),))
    assert len(simulated.import_groups) == 2
    assert _unverified(simulated.findings)
    _agrees(tmp_path, simulated)


@pytest.mark.slow
def test_partial_end_to_end_one_batch_with_a_cut(tmp_path: Path) -> None:
    simulated = _simulate(tmp_path, "account", cut=(("reimbursements", CUT),), one_batch=True)
    assert len(simulated.import_groups) == 1
    _agrees(tmp_path, simulated)


@pytest.mark.slow
def test_partial_end_to_end_stated_period(tmp_path: Path) -> None:
    """The cut Customer Returns download is imported with the period the seller chose in Seller
    Central (`--period`): it covers from the cut to as_of, not just its first to last return."""
    for late in range(10):  # a cut on a day without returns: the rows start after the cut
        cut = CUT + dt.timedelta(days=late)
        simulated = _simulate(tmp_path, f"account{late}", cut=(("customer_returns", cut),))
        if simulated.coverage["customer_returns"][0][0] > cut:
            break
    stated = (cut, AS_OF)
    covered = {**simulated.coverage, "customer_returns": [stated]}
    assert covered != simulated.coverage
    for finding in simulated.findings:  # the key again, with what the seller stated
        opens, closes = _day(finding, "window_opens"), _day(finding, "window_closes")
        finding["state"] = ("not_yet" if opens > AS_OF else "expired" if closes < AS_OF
                            else "claimable")  # fmt: skip
    ids = [str(f["finding_id"]) for f in simulated.findings]
    key_coverage.resolve(simulated.findings, [simulated.wants[i] for i in ids], covered, AS_OF)
    with Workspace(tmp_path / "ws") as ws:
        complete, cut_reports = simulated.import_groups
        import_paths(ws, complete, account="demo", marketplace="US")
        import_paths(ws, cut_reports, account="demo", marketplace="US", period=stated)
        found = auditing.run(
            duckdb_engine(ws.con), "demo", AS_OF, load_policy(), auditing.file_names(ws.con)
        ).findings
    assert differences(simulated.findings, found) == []
