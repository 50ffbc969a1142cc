"""A simulated FBA seller account with an answer key: for the demo, end-to-end tests and benchmarks.

`simulate(config, out)` runs the seller's true history (`seller`, `incidents`), writes what the
seller would download in Amazon's real layouts (`downloads`, `layouts`) and the findings a careful
auditor must produce from it (`answer_key`), as `answer-key.csv` and `answer-key.json` in the
export-contract format of audit-rules.md. Products are independent, so a large account is
simulated in batches and never held in memory whole.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from recoup.simulate.answer_key import COLUMNS, expected_findings
from recoup.simulate.layouts import ReportWriter
from recoup.simulate.markets import MARKETS, Market
from recoup.simulate.seller import Account, Seller, SimConfig, catalog

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
) -> Simulated:
    """Simulate, write the reports under `out/reports` and the answer key under `out`."""
    products = catalog(config)
    writer = ReportWriter(config, out / "reports", quirks=quirks)
    findings: list[dict[str, object]] = []
    done = Simulated(config, [], findings, out / "answer-key.csv")
    for first in range(0, len(products), BATCH_PRODUCTS):
        account = Seller(config, products[first : first + BATCH_PRODUCTS]).run()
        writer.add(account)  # before the answer key: it cites the lines rows were written to
        findings += expected_findings(account)
        done.ledger_rows += len(account.rows.get("ledger_detail", []))
        done.rows += sum(len(rows) for rows in account.rows.values())
        done.rows += len(account.settlement_lines)
        if keep_events:
            done.batches.append(account)
        if on_progress is not None:
            on_progress(min(first + BATCH_PRODUCTS, len(products)), len(products))
    done.reports = writer.close()
    findings.sort(key=lambda r: (str(r["kind"]), str(r["event_date"]), str(r["finding_id"])))
    write_answer_key(findings, out)
    return done


def write_answer_key(findings: list[dict[str, object]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "answer-key.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for finding in findings:
            writer.writerow({**finding, "evidence": json.dumps(finding["evidence"])})
    (out / "answer-key.json").write_text(json.dumps(findings, indent=1), encoding="utf-8")
    return out / "answer-key.csv"
