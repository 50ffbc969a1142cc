"""Every rule against its YAML case file: tiny inputs, the findings a careful auditor expects,
every cancel case and the window edges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recoup.rules import KINDS
from tests.rule_cases import audit_case, check, load_cases

CASES = load_cases(Path(__file__).parent / "rules")


@pytest.mark.parametrize(("rule", "name", "case"), CASES, ids=[c[1] for c in CASES])
def test_rule_case(tmp_path: Path, rule: str, name: str, case: dict[str, Any]) -> None:
    # Only the case's own rule runs: `check` reads only its findings.
    check(rule, case, audit_case(tmp_path / "ws", case, kinds={rule}))


def test_every_rule_has_a_case_file() -> None:
    assert {c[0] for c in CASES} == set(KINDS)
