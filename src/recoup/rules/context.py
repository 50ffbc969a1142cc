"""What a rule sees: the canonical tables of one account up to the as-of date, on one backend.

Rules never touch a connection. They ask the context for tables (already limited to the account)
and for the shared allocations of `recoup.rules.allocation`, which are computed once per audit and
cached on the backend, so every rule sees the same allocation of every reimbursement unit.

Each rule reads through its own view of the audit's context (`for_rule`), which refuses a table
the rule does not declare: the audit's table list, the workspace check of what an account holds
and the Spark lake are all built from the declarations, so an undeclared table would be missing
there (or make the rule look skipped for want of it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import ibis.expr.types as ir

from recoup.policy import Policy
from recoup.settings import AuditSettings

# Columns of the rows a rule returns ("contributions"); rows of one finding are summed.
CONTRIBUTION = ibis.schema(
    {
        "kind": "string",
        "marketplace": "string",
        "fnsku": "string",
        "msku": "string",
        "asin": "string",
        "fulfillment_center": "string",
        "reference_id": "string",
        "order_id": "string",
        "shipment_id": "string",
        "removal_order_id": "string",
        "reimbursement_id": "string",
        "event_date": "date",
        "quantity": "int64",
        "value_basis": "string",  # null: valued by principle 10 afterwards
        "money": "decimal(18, 2)",  # the basis amount the kind's valuation starts from
        "money_units": "int64",
        "window": "string",  # the policy row to date it by, when not the kind's own
        # The reports that must cover days before the finding may be claimed (principle 11),
        # written by `proof()`; null: Amazon's own attribution, nothing to prove.
        "proof": "string",
        "report": "string",
        "file_id": "int64",
        "line": "int64",
    }
)


def contributions(t: ir.Table, **columns: Any) -> ir.Table:
    """Project `t` to the contribution shape; columns not given are null."""
    values = {}
    for name, dtype in CONTRIBUTION.items():
        value = columns.get(name)
        if value is None:
            value = ibis.null(dtype)
        elif not isinstance(value, ir.Value):
            value = ibis.literal(value, dtype)
        values[name] = value.cast(dtype)
    return t.select(**values)


NEED_SEPARATOR = ";"  # as recoup.coverage.wanted_days reads it back


def proof(
    report: str,
    first: ir.DateValue,
    last: ir.DateValue | None = None,
    when: ir.BooleanValue | None = None,
) -> ir.StringValue:
    """`report` must cover `first`..`last` (None: up to the as-of date), where `when` holds:
    one part of a contribution's `proof` (`recoup.audit` reads it against the coverage). Join
    parts with `+`."""
    # Date arithmetic gives a timestamp on DuckDB though Ibis types it a date: keep the day.
    end = ibis.literal("") if last is None else last.cast("string").substr(0, 10)
    part = (
        ibis.literal(f"{report} ") + first.cast("string").substr(0, 10) + ".." + end
        + NEED_SEPARATOR
    )  # fmt: skip
    if when is not None:
        part = when.ifelse(part, ibis.literal(""))
    return part.fill_null("")


def earliest(t: ir.Table, day: str) -> ir.DateValue:
    """The earliest `day` of the row's (marketplace, FNSKU) in `t`: where a FIFO's cancellers
    must be seen from (principle 11, "the earliest candidate of its FNSKU")."""
    return t[day].min().over(ibis.window(group_by=[t.marketplace, t.fnsku]))


class UndeclaredTable(LookupError):
    """A rule read a table its NEEDS and READS do not name (recoup.rules.kind)."""


@dataclass
class Context:
    """One audit's inputs. `source(name)` returns a canonical table of the workspace (or lake)."""

    source: Callable[[str], ir.Table]
    account: str
    as_of: dt.date
    policy: Policy
    cache: Callable[[ir.Table], ir.Table]
    execute: Callable[[ir.Expr], Any]
    options: AuditSettings = field(default_factory=AuditSettings)  # `[audit]` in recoup.toml
    available: frozenset[str] = frozenset()  # canonical tables holding rows of this account
    # The account and as-of date as the queries read them. None: as literals. The DuckDB engine
    # passes them as session variables instead, so that one compiled query serves every account
    # and day (recoup.plans).
    account_param: ir.StringValue | None = None
    as_of_param: ir.DateValue | None = None
    reader: str = ""  # who reads through this view (a rule's kind), for the refusal
    declared: frozenset[str] | None = None  # the tables it may read; None: any
    _tables: dict[str, ir.Table] = field(default_factory=dict)
    _shared: dict[str, Any] = field(default_factory=dict)
    # The tables each shared value was computed from, charged to every rule that uses it (so a
    # rule's declarations are checked whichever rule happened to compute it first).
    _read_by: dict[str, frozenset[str]] = field(default_factory=dict)
    _reading: list[set[str]] = field(default_factory=list)  # shared values being computed

    def for_rule(self, reader: str, declared: Iterable[str]) -> Context:
        """This audit's context as one reader sees it: the same tables and shared values,
        limited to the tables it declares."""
        return replace(self, reader=reader, declared=frozenset(declared))

    def _read(self, names: Iterable[str]) -> None:
        names = set(names)
        if self.declared is not None and not names <= self.declared:
            undeclared = ", ".join(sorted(names - self.declared))
            raise UndeclaredTable(
                f"{self.reader or 'a rule'} reads {undeclared} without declaring it: add it to "
                "the rule's NEEDS or READS (the audit's table list and the Spark lake are built "
                "from them)"
            )
        for reading in self._reading:
            reading.update(names)

    def table(self, name: str) -> ir.Table:
        """A canonical table, limited to the account (refused when not declared)."""
        self._read((name,))
        if name not in self._tables:
            t = self.source(name)
            account = (
                ibis.literal(self.account) if self.account_param is None else self.account_param
            )
            self._tables[name] = t.filter(t.account == account)
        return self._tables[name]

    def shared(self, name: str, compute: Callable[[Context], Any]) -> Any:
        """A shared allocation, computed once per audit and materialised here (so `compute`
        returns the query, not a cached table)."""
        if name in self._shared:
            self._read(self._read_by[name])
            return self._shared[name]
        self._reading.append(set())
        try:
            value = compute(self)
        finally:
            self._read_by[name] = frozenset(self._reading.pop())
        # Materialised once: every rule then reads a small table, not the query behind it.
        if isinstance(value, ir.Table):
            value = self.cache(value)
        elif isinstance(value, dict):
            value = {k: self.cache(v) for k, v in value.items()}
        self._shared[name] = value
        return value

    def count(self, t: ir.Table) -> int:
        """Rows of `t`, computed now (to skip work nobody needs). Through the engine, which
        records it: a replayed audit checks the count is still the same (recoup.plans)."""
        return int(self.execute(t.count()))

    @property
    def as_of_value(self) -> ir.DateValue:
        """The as-of date in a query."""
        if self.as_of_param is not None:
            return self.as_of_param
        return ibis.literal(self.as_of, "date")


def stack(*tables: ir.Table) -> ir.Table:
    """UNION ALL of tables with the first one's columns (all nullable, so that a table that came
    out of an outer join stacks with one that did not)."""
    first = tables[0]
    types = {name: dtype.copy(nullable=True) for name, dtype in first.schema().items()}
    parts = [t.select(**{name: t[name].cast(dtype) for name, dtype in types.items()})
             for t in tables]  # fmt: skip
    return parts[0] if len(parts) == 1 else ibis.union(*parts)
