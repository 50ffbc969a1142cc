"""A simulated FBA seller account with an answer key: for the demo, end-to-end tests and benchmarks.

`simulate(config, out)` runs the seller's true history (`seller`, `incidents`), writes what the
seller would download in Amazon's real layouts (`downloads`, `layouts`) and the findings a careful
auditor must produce from it (`answer_key`), as `answer-key.csv` and `answer-key.json` in the
export-contract format of audit-rules.md. Products are independent, so a large account is
simulated in batches and never held in memory whole.

A partial account (`SimConfig.drop`, `SimConfig.cut`, `partial.py`) leaves reports or their
early rows out; its answer key is computed from what the written files show, and marks the
findings they cannot prove `unverified` (`key_coverage.py`) when the files are imported as
`Simulated.import_groups` says.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from recoup.simulate import key_coverage
from recoup.simulate.account import Account, SimConfig
from recoup.simulate.answer_key import COLUMNS
from recoup.simulate.catalog import Product
from recoup.simulate.layouts import ReportWriter
from recoup.simulate.markets import MARKETS, Market
from recoup.simulate.seller import Seller, catalog

__all__ = ["SimConfig", "Simulated", "simulate", "write_answer_key"]

BATCH_PRODUCTS = 50


@dataclass
class Simulated:
    config: SimConfig
    reports: list[Path]  # in the order they should be imported
    findings: list[dict[str, object]]
    answer_key: Path  # the CSV; the JSON sits next to it
    ledger_rows: int = 0
    rows: int = 0
    batches: list[Account] = field(default_factory=list)  # kept only when asked for
    # One list of files per import command: the complete reports together, then each cut
    # report alone (one list with `SimConfig.one_batch`). The answer key assumes this.
    import_groups: list[list[Path]] = field(default_factory=list)
    coverage: dict[str, list[tuple[dt.date, dt.date]]] = field(default_factory=dict)
    # Per finding id, the reports and days that must prove it (to re-key a stated period).
    wants: dict[str, key_coverage.Wants] = field(default_factory=dict)

    @property
    def market(self) -> Market:
        return MARKETS[self.config.marketplace]

    @property
    def account(self) -> Account:
        """The simulated events, for an account simulated in one batch with `keep_events`."""
        if len(self.batches) != 1:
            raise ValueError("the events were not kept, or the account came in several batches")
        return self.batches[0]


def simulate(
    config: SimConfig,
    out: Path,
    *,
    quirks: bool = False,
    keep_events: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> Simulated:
    """Simulate, write the reports under `out/reports` and the answer key under `out`.

    With `keep_events` the batches run here and their events stay in memory (for tests);
    otherwise they run in `workers` processes (default: one per core), each writing its part of
    every file, which are then joined in order.
    """
    products = catalog(config)
    writer = ReportWriter(config, out / "reports", quirks=quirks)
    done = Simulated(config, [], [], out / "answer-key.csv")
    batches = [products[i : i + BATCH_PRODUCTS] for i in range(0, len(products), BATCH_PRODUCTS)]
    workers = min(workers or os.cpu_count() or 1, len(batches))
    if keep_events or workers < 2:
        parts: Iterator[Part] = (
            _here(config, batch, writer, done, keep_events) for batch in batches
        )
    else:
        parts = _in_workers(config, batches, quirks, workers)
    wants: list[key_coverage.Wants] = []
    held: key_coverage.Printed = {}
    for number, part in enumerate(parts, start=1):
        if part.files:
            _join(writer, part)
        done.findings += part.findings
        wants += part.wants
        held = key_coverage.merge(held, part.printed)
        done.ledger_rows += part.ledger_rows
        done.rows += part.rows
        if on_progress is not None:
            on_progress(min(number * BATCH_PRODUCTS, len(products)), len(products))
    done.reports = writer.close()
    done.import_groups = key_coverage.import_groups(config, done.reports)
    done.coverage = key_coverage.coverage(config, held)
    key_coverage.resolve(done.findings, wants, done.coverage, config.as_of)
    done.wants = {str(f["finding_id"]): w for f, w in zip(done.findings, wants, strict=True)}
    done.findings.sort(key=lambda r: (str(r["kind"]), str(r["event_date"]), str(r["finding_id"])))
    write_answer_key(done.findings, out)
    return done


@dataclass
class Part:
    """One batch of products: its expected findings, and (from a worker) its part of each file."""

    findings: list[dict[str, object]]
    ledger_rows: int
    rows: int
    wants: list[key_coverage.Wants] = field(default_factory=list)  # per finding
    printed: key_coverage.Printed = field(default_factory=dict)
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    totals: dict[str, Decimal] = field(default_factory=dict)


def _counted(account: Account) -> Part:
    """The batch's answer key (from what its downloads show) and its counts."""
    findings, wants, printed = key_coverage.batch_key(account)
    ledger = len(account.rows.get("ledger_detail", [])) + len(account.sales)
    return Part(findings, ledger, account.printed_rows(), wants, printed)


def _here(
    config: SimConfig,
    products: list[Product],
    writer: ReportWriter,
    done: Simulated,
    keep_events: bool,
) -> Part:
    account = Seller(config, products).run()
    writer.add(account)  # before the answer key: it cites the lines rows were written to
    if keep_events:
        done.batches.append(account)
    return _counted(account)


def _worker(config: SimConfig, products: list[Product], quirks: bool) -> Part:
    account = Seller(config, products).run()
    writer = ReportWriter(config, Path("part"), quirks=quirks, part=True)
    writer.add(account)
    part = _counted(account)
    part.files, part.totals = writer.finish_part()
    return part


def _in_workers(
    config: SimConfig, batches: list[list[Product]], quirks: bool, workers: int
) -> Iterator[Part]:
    """Each batch's part, in order; only a few in flight, so memory and disk stay bounded."""
    with ProcessPoolExecutor(workers) as pool:
        waiting: deque[Future[Part]] = deque()
        for batch in batches:
            waiting.append(pool.submit(_worker, config, batch, quirks))
            if len(waiting) > workers:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


def _join(writer: ReportWriter, part: Part) -> None:
    """Append a worker's part of each file; its evidence lines move down by as much."""
    offsets = {}
    for name, (text, lines) in part.files.items():
        offsets[name] = writer.append_part(name, text, lines)
    for finding in part.findings:
        for cited in finding["evidence"]:  # type: ignore[attr-defined]
            cited["line"] += offsets[cited["file"]]
    for settlement, total in part.totals.items():
        writer.totals[settlement] += total


def write_answer_key(findings: list[dict[str, object]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "answer-key.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for finding in findings:
            writer.writerow({**finding, "evidence": json.dumps(finding["evidence"])})
    (out / "answer-key.json").write_text(json.dumps(findings, indent=1), encoding="utf-8")
    return out / "answer-key.csv"
