"""`recoup demo`: a simulated seller account, imported into the workspace, with what it is owed.

The account is written under `<workspace>/demo/<marketplace>-seed<seed>/` (reports and answer key)
and imported like any download; the audit then runs on it and is checked against the answer key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from recoup import clock
from recoup.simulate import SimConfig, Simulated, simulate


def demo_folder(workspace: Path, config: SimConfig) -> Path:
    return workspace / "demo" / f"{config.marketplace}-seed{config.seed}-{config.as_of}"


def generate(workspace: Path, config: SimConfig, *, quirks: bool = True) -> Simulated:
    return simulate(config, demo_folder(workspace, config), quirks=quirks)


def default_as_of() -> dt.date:
    return clock.today()
