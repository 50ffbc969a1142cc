"""The audit rules: one module per finding kind (audit-rules.md), each with a docstring a seller
can read, and the registry that lists them in the order they run.

A rule declares the canonical tables it needs (`a|b` means either will do) and is skipped, with a
note, when the account has none of them; `find(ctx)` returns one contribution row per owed
candidate (and per extra evidence row) in `recoup.rules.context.CONTRIBUTION`'s shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import ibis.expr.types as ir

from recoup.rules import (
    disposed_unauthorized,
    inbound_shortage,
    refund_overcharge,
    reimbursement_underpaid,
    removal_short,
    return_damaged_by_amazon,
    return_not_received,
    reversal_unmatched,
    warehouse_damaged,
    warehouse_lost,
)
from recoup.rules.context import Context


@dataclass(frozen=True)
class Rule:
    kind: str
    needs: tuple[str, ...]
    find: Callable[[Context], ir.Table]
    summary: str
    proven_by: tuple[str, ...] = ()  # reports whose coverage a finding needs (principle 11)

    def missing(self, available: frozenset[str]) -> list[str]:
        """The needed tables the account lacks (alternatives joined with ' or ')."""
        return [
            need.replace("|", " or ")
            for need in self.needs
            if not any(option in available for option in need.split("|"))
        ]


def _rule(module: ModuleType) -> Rule:
    doc = (module.__doc__ or "").strip()
    summary = doc.splitlines()[0] if doc else ""
    return Rule(module.KIND, module.NEEDS, module.find, summary, module.PROVEN_BY)


RULES: tuple[Rule, ...] = tuple(
    _rule(m)
    for m in (
        warehouse_lost,
        warehouse_damaged,
        disposed_unauthorized,
        return_not_received,
        return_damaged_by_amazon,
        inbound_shortage,
        removal_short,
        reimbursement_underpaid,
        reversal_unmatched,
        refund_overcharge,
    )
)
KINDS = tuple(rule.kind for rule in RULES)


def verifies(report: str) -> tuple[str, ...]:
    """The finding kinds a report's coverage verifies (principle 11)."""
    return tuple(rule.kind for rule in RULES if report in rule.proven_by)
