"""A simulated FBA seller account with an answer key: for the demo, end-to-end tests and benchmarks.

`simulate(config, out)` runs the seller's true history (`seller`, `incidents`), writes what the
seller would download in Amazon's real layouts (`downloads`, `layouts`) and the findings a careful
auditor must produce from it (`answer_key`), as `answer-key.csv` and `answer-key.json` in the
export-contract format of audit-rules.md.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from recoup.simulate.answer_key import COLUMNS, expected_findings
from recoup.simulate.layouts import write_reports
from recoup.simulate.seller import Account, Seller, SimConfig

__all__ = ["SimConfig", "Simulated", "simulate", "write_answer_key"]


@dataclass
class Simulated:
    account: Account
    reports: list[Path]  # in the order they should be imported
    findings: list[dict[str, object]]
    answer_key: Path  # the CSV; the JSON sits next to it


def simulate(config: SimConfig, out: Path, *, quirks: bool = False) -> Simulated:
    account = Seller(config).run()
    reports = write_reports(account, out / "reports", quirks=quirks)
    findings = expected_findings(account)
    return Simulated(account, reports, findings, write_answer_key(findings, out))


def write_answer_key(findings: list[dict[str, object]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "answer-key.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for finding in findings:
            writer.writerow({**finding, "evidence": json.dumps(finding["evidence"])})
    (out / "answer-key.json").write_text(json.dumps(findings, indent=1), encoding="utf-8")
    return out / "answer-key.csv"
