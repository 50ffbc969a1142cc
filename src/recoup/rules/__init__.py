"""The audit rules: one module per finding kind (audit-rules.md), each with a docstring a seller
can read and the declarations the rest of recoup reads (`recoup.rules.kind`): the tables it needs
and reads, its claim windows, its claim form, its options hook.

Kinds are discovered, not listed: every module here that declares a `KIND`, and the rule modules
of installed rule packages (`recoup.rules.registry`, entry point group `recoup.rules`). `RULES`
and `KINDS` list them in the order they run; `rule(kind)` looks one up.

A rule is skipped, with a note, when the account has none of the tables it needs; `find(ctx)`
returns one contribution row per owed candidate (and per extra evidence row) in
`recoup.rules.context.CONTRIBUTION`'s shape, and may read only the tables it declares.
"""

from __future__ import annotations

from importlib import resources

from recoup import policy
from recoup.rules.kind import Form, Rule, RuleError
from recoup.rules.registry import Kinds, Rules, discover, register, rule, unregister

RULES = Rules()
KINDS = Kinds()

__all__ = ["KINDS", "RULES", "Form", "Rule", "RuleError", "discover", "kind_windows", "register",
           "rule", "unregister", "verifies"]  # fmt: skip


def verifies(report: str) -> tuple[str, ...]:
    """The finding kinds a report's coverage verifies (principle 11)."""
    return tuple(r.kind for r in RULES if report in r.proven_by)


def kind_windows() -> list[policy.KindWindows]:
    """Each kind's window ids, and the `windows.toml` a rule package ships beside its rules."""
    out = []
    for r in RULES:
        if r.own:
            out.append(policy.KindWindows(r.kind, r.windows, "recoup/policy/windows.toml"))
            continue
        if not r.package:  # a top-level module has no folder of its own to ship rows in
            out.append(policy.KindWindows(r.kind, r.windows, "recoup.toml [[audit.windows]]"))
            continue
        shipped = resources.files(r.package).joinpath("windows.toml")
        text = shipped.read_text(encoding="utf-8") if shipped.is_file() else None
        out.append(policy.KindWindows(r.kind, r.windows, f"{r.package}/windows.toml", text))
    return out


# The policy sits below the rules: it learns the kinds through this hook, at every load.
policy.declare_kinds(kind_windows)
