"""`recoup demo`: a simulated seller account, imported into the workspace, with what it is owed.

The account is written under `<workspace>/demo/<marketplace>-seed<seed>/` (reports and answer key)
and imported like any download. Until the audit exists, the summary of what is owed comes from
the simulator's answer key, and says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from recoup.simulate import SimConfig, Simulated, simulate

STATES = ("claimable", "not_yet", "expired")


def demo_folder(workspace: Path, config: SimConfig) -> Path:
    return workspace / "demo" / f"{config.marketplace}-seed{config.seed}-{config.as_of}"


def generate(workspace: Path, config: SimConfig, *, quirks: bool = True) -> Simulated:
    return simulate(config, demo_folder(workspace, config), quirks=quirks)


def print_owed(console: Console, simulated: Simulated) -> None:
    """What the account is owed, by finding kind and state (units, money)."""
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for finding in simulated.findings:
        total = totals[str(finding["kind"]), str(finding["state"])]
        total[0] += 1
        total[1] += Decimal(str(finding["amount"]))
    currency = simulated.market.currency
    table = Table(
        title=f"What this account is owed as of {simulated.config.as_of} "
        f"(the simulator's answer key, {currency})",
        title_justify="left",
    )
    table.add_column("finding kind")
    for state in STATES:
        table.add_column(state.replace("_", " "), justify="right")
    kinds = sorted({kind for kind, _ in totals})
    for kind in kinds:
        table.add_row(kind, *(_cell(totals.get((kind, s))) for s in STATES))
    table.add_row(
        "[bold]total[/bold]",
        *(_cell([sum((totals[k, s][i] for k in kinds if (k, s) in totals), Decimal(0))
                 for i in (0, 1)]) for s in STATES),
    )  # fmt: skip
    console.print(table)


def _cell(total: list[Decimal] | None) -> str:
    if not total or not total[0]:
        return "-"
    return f"{int(total[0])} / {total[1]:,.2f}"


def default_as_of() -> dt.date:
    return dt.date.today()
