"""How each finding kind is claimed: the `FORM` its rule module declares (`recoup.rules.kind`),
looked up by kind. Sources of the forms: reimbursement-policy.md C.1 (entry points and fields)
and C.2 (the case text pattern)."""

from __future__ import annotations

from recoup.rules import RULES, rule
from recoup.rules.kind import GROUP_FIELDS, Form

__all__ = ["GROUP_FIELDS", "Form", "form", "forms"]


def forms() -> dict[str, Form]:
    """Every registered kind's claim form, in the rules' order."""
    return {r.kind: r.form for r in RULES}


def form(kind: str) -> Form:
    return rule(kind).form
