"""What a finding kind declares, next to its rule: the tables it reads, its claim windows, its
claim form, its options hook. The registry (`recoup.rules.registry`) reads these declarations;
the audit, the claims, the lake and the dashboard read the registry.

A rule module holds a docstring a seller can read (its first line is the kind's one-line
summary) and, as module attributes:

    KIND = "fee_overcharge"               # the finding kind (export contract: never renamed)
    ORDER = 110                           # where it is listed; recoup's own kinds use 10..100
    NEEDS = ("fee_preview",)              # tables it cannot run without (`a|b`: either will do)
    READS = ("reimbursements",)           # tables it also reads, directly or through a shared
                                          # allocation, when the account has them
    PROVEN_BY = ("reimbursements",)       # reports whose coverage a finding needs (principle 11)
    WINDOWS = (KIND,)                     # the window ids its findings are dated by
    FORM = Form(title=..., ...)           # how it is claimed (below)
    def skip_when(options) -> str | None  # optional: why `[audit]` settings turn it off
    def find(ctx) -> ir.Table             # contribution rows (recoup.rules.context)

and two files beside the module: `templates/<kind>.txt` (its claim text) and `windows.toml`
(its `[[windows]]` rows). recoup's own kinds keep theirs with the shared layout and the shipped
policy: `recoup/claims/templates/` and `recoup/policy/windows.toml`.

`find` builds a query; when it must look at the data to decide what to build (how many rows,
how many rounds), it asks `ctx.count` or `ctx.execute`, which the engine records, so that the
next audit can replay the steps and check the data still decides the same (recoup.plans). A
rule that runs Ibis itself still works, but turns the replay off for its account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any

from recoup.settings import AuditSettings

if TYPE_CHECKING:  # the declarations read without Ibis: `recoup claims list` never loads it
    import ibis.expr.types as ir

    from recoup.rules.context import Context

# The finding ids a claim can be about (one issue per case).
GROUP_FIELDS = ("fnsku", "order_id", "shipment_id", "removal_order_id", "reimbursement_id")
LATER = 1000  # where a kind that declares no ORDER is listed: after recoup's own
OWN_PACKAGE = "recoup.rules"

# A finding's evidence rows by report (canonical table), as the claim's evidence CSV holds them.
Evidence = Mapping[str, list[dict[str, Any]]]


class RuleError(ValueError):
    """A rule module that does not declare what the registry needs (names module and field)."""


def units(rows: Iterable[dict[str, Any]], column: str) -> int:
    """The sum of a whole-number column over evidence rows (blank counts 0)."""
    return sum(int(r.get(column) or 0) for r in rows)


@dataclass(frozen=True)
class Form:
    """How a finding kind is claimed (reimbursement-policy.md C.1 entry points and fields, C.2
    the case text pattern)."""

    title: str  # the case's subject line
    group_by: str  # the id one case is about (one issue per case; kinds are never mixed)
    line_id: str  # the id each line of the facts table is about
    line_label: str  # that id's column header
    file_at: str  # where in Seller Central the case is filed
    policy: str  # the policy the claim rests on
    attach: tuple[str, ...]  # what to attach
    expected: str  # the facts table's header for the units the reports show ("" for none)
    accounted: str  # the header for those units accounted for since ("" for none)
    settle_by: str  # "units" (paid when the units are reimbursed) or "amount" (money-only)
    pays: tuple[str, ...]  # reimbursement reasons that settle it when they carry no case id
    match_on: str  # what such a payment shares with it: fnsku, order_id or
    #                original_reimbursement_id (the payment corrects the claim's reimbursement)
    # The units the reports say should be there, from a finding's evidence rows (the `expected`
    # column of the facts table); None: the kind shows no such column.
    expected_units: Callable[[Evidence], int | None] | None = field(default=None, compare=False)
    kind: str = ""  # filled in from the rule's KIND


@dataclass(frozen=True)
class Rule:
    """One finding kind, as the registry read it from its module."""

    kind: str
    needs: tuple[str, ...]
    find: Callable[[Context], ir.Table]
    summary: str
    form: Form
    proven_by: tuple[str, ...] = ()  # reports whose coverage a finding needs (principle 11)
    reads: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()
    skip_when: Callable[[AuditSettings], str | None] | None = None
    order: int = LATER
    package: str = ""  # where its templates/ and windows.toml are looked for

    @property
    def own(self) -> bool:
        """One of recoup's own kinds: its windows and template ship with recoup."""
        return self.package == OWN_PACKAGE

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the rule may read: its needs (each alternative) and reads."""
        names = [option for need in self.needs for option in need.split("|")]
        return tuple(dict.fromkeys([*names, *self.reads]))

    def missing(self, available: frozenset[str]) -> list[str]:
        """The needed tables the account lacks (alternatives joined with ' or ')."""
        return [
            need.replace("|", " or ")
            for need in self.needs
            if not any(option in available for option in need.split("|"))
        ]

    def skipped(self, options: AuditSettings) -> str | None:
        """Why the seller's `[audit]` settings turn the kind off, or None."""
        return self.skip_when(options) if self.skip_when else None


def _names(module: ModuleType, attribute: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = getattr(module, attribute, default)
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{module.__name__}.{attribute}: expected a tuple of names")
    return tuple(value)


def rule_of(module: ModuleType) -> Rule:
    """The declarations of a rule module as a Rule; RuleError names what is missing or wrong."""
    name = module.__name__
    kind = getattr(module, "KIND", None)
    if not isinstance(kind, str) or not kind.isidentifier():
        raise RuleError(f"{name}: KIND must be a name such as 'warehouse_lost'")
    for attribute in ("NEEDS", "FORM", "find"):
        if not hasattr(module, attribute):
            raise RuleError(f"{name} (kind {kind}): declares no {attribute}")
    form = module.FORM
    if not isinstance(form, Form):
        raise RuleError(f"{name} (kind {kind}): FORM must be a recoup.rules.kind.Form")
    if form.group_by not in GROUP_FIELDS or form.line_id not in (*GROUP_FIELDS, "reference_id"):
        raise RuleError(f"{name} (kind {kind}): FORM.group_by and line_id must be finding ids")
    if form.settle_by not in ("units", "amount"):
        raise RuleError(f"{name} (kind {kind}): FORM.settle_by must be 'units' or 'amount'")
    doc = (module.__doc__ or "").strip()
    return Rule(
        kind=kind,
        needs=_names(module, "NEEDS"),
        find=module.find,
        summary=doc.splitlines()[0] if doc else "",
        form=replace(form, kind=kind),
        proven_by=_names(module, "PROVEN_BY"),
        reads=_names(module, "READS"),
        windows=_names(module, "WINDOWS", (kind,)),
        skip_when=getattr(module, "skip_when", None),
        order=int(getattr(module, "ORDER", LATER)),
        package=(module.__spec__.parent if module.__spec__ else None) or name.rpartition(".")[0],
    )
