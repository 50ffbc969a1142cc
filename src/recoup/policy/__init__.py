"""Amazon's claim windows and valuation dates as dated data (audit-rules.md principles 3 and 10).

The shipped rows live in `windows.toml` with the source of each; a rule package outside recoup
ships a `windows.toml` of its own beside its rules; a seller overrides or adds rows in
`recoup.toml`. Nothing here knows a finding kind's rules: it only answers "which window was in
force for this kind, in this marketplace, on this clock date", and checks that every kind has a
window (the kinds and their packages' rows come from `recoup.rules`, through `declare_kinds`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

EVERYWHERE = "*"


class PolicyError(ValueError):
    """A window row that cannot be read (names the row and the problem)."""


@dataclass(frozen=True)
class Span:
    """A distance after a clock date: days, or calendar months."""

    amount: int
    unit: str  # "d" or "m"

    @classmethod
    def parse(cls, text: str, where: str) -> Span:
        text = str(text).strip().lower()
        if len(text) < 2 or text[-1] not in "dm" or not text[:-1].isdigit():
            raise PolicyError(f"{where}: {text!r} is not a span such as '60d' or '18m'")
        return cls(int(text[:-1]), text[-1])

    def after(self, day: dt.date) -> dt.date:
        if self.unit == "d":
            return day + dt.timedelta(days=self.amount)
        return add_months(day, self.amount)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months; a day the month lacks becomes its last (2023-08-31 + 18 = 2025-02-28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class WindowRow:
    kind: str
    group: str
    effective_from: dt.date
    opens_after: Span
    closes_after: Span
    source: str


@dataclass(frozen=True)
class Window:
    opens: dt.date
    closes: dt.date

    def state(self, as_of: dt.date) -> str:
        if as_of < self.opens:
            return "not_yet"
        return "expired" if as_of > self.closes else "claimable"


@dataclass(frozen=True)
class Policy:
    groups: Mapping[str, frozenset[str]]
    windows: tuple[WindowRow, ...]
    cost_basis: Mapping[str, dt.date]  # group or marketplace -> first day of cost-based payment

    def group_of(self, marketplace: str) -> str | None:
        for name, members in self.groups.items():
            if marketplace in members:
                return name
        return None

    def _scopes(self, marketplace: str) -> list[str]:
        """Most specific first: the marketplace itself, its group, everywhere."""
        group = self.group_of(marketplace)
        return [marketplace, *([group] if group else []), EVERYWHERE]

    def row(self, kind: str, marketplace: str, clock: dt.date) -> WindowRow:
        for scope in self._scopes(marketplace):
            rows = [r for r in self.windows if r.kind == kind and r.group == scope]
            in_force = [r for r in rows if r.effective_from <= clock]
            if in_force:
                return max(in_force, key=lambda r: r.effective_from)
        raise PolicyError(f"no claim window for {kind} in {marketplace} on {clock}")

    def window(self, kind: str, marketplace: str, clock: dt.date) -> Window:
        row = self.row(kind, marketplace, clock)
        return Window(row.opens_after.after(clock), row.closes_after.after(clock))

    def cost_basis_from(self, marketplace: str) -> dt.date | None:
        for scope in self._scopes(marketplace):
            if scope in self.cost_basis:
                return self.cost_basis[scope]
        return None


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{where}: effective_from {value!r} is not a date (YYYY-MM-DD)") from None


def _rows(raw: Iterable[Mapping[str, Any]], origin: str) -> list[WindowRow]:
    rows = []
    for number, entry in enumerate(raw, 1):
        where = f"{origin}, window row {number}"
        missing = {"kind", "group", "effective_from", "opens_after", "closes_after"} - set(entry)
        if missing:
            raise PolicyError(f"{where}: missing {', '.join(sorted(missing))}")
        kinds = entry["kind"] if isinstance(entry["kind"], list) else [entry["kind"]]
        for kind in kinds:
            rows.append(
                WindowRow(
                    str(kind),
                    str(entry["group"]),
                    _date(entry["effective_from"], where),
                    Span.parse(entry["opens_after"], where),
                    Span.parse(entry["closes_after"], where),
                    str(entry.get("source", origin)),
                )
            )
    return rows


@dataclass(frozen=True)
class KindWindows:
    """What one finding kind asks of the policy: the window ids its findings are dated by, and
    the `windows.toml` its rule package ships (None: its rows are in recoup's own)."""

    kind: str
    windows: tuple[str, ...]
    origin: str = "windows.toml"  # where its rows belong, for the error message
    shipped: str | None = None  # that file's text


# Set by recoup.rules (a higher layer), read at every load: the registered kinds' windows.
_DECLARED: list[Callable[[], Iterable[KindWindows]]] = []


def declare_kinds(kinds: Callable[[], Iterable[KindWindows]]) -> None:
    """Where `load_policy` learns the finding kinds (recoup.rules calls this on import)."""
    _DECLARED[:] = [kinds]


def _toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{origin}: {error}") from None


def _without_window(rows: Iterable[WindowRow], kinds: Iterable[KindWindows]) -> None:
    """Every kind's window ids have rows, or a PolicyError names the kind and where they go."""
    known = {r.kind for r in rows}
    for k in kinds:
        for window in k.windows:
            if window not in known:
                raise PolicyError(
                    f"finding kind {k.kind} has no claim window rows for {window!r}: add "
                    f"[[windows]] rows with kind = {window!r} to {k.origin}"
                )


def load_policy(
    window_overrides: Iterable[Mapping[str, Any]] = (),
    cost_basis_overrides: Mapping[str, Any] | None = None,
) -> Policy:
    """The shipped policy with the user's rows applied: a user row replaces the shipped row of
    the same kind, group and effective date, or adds a new one. Rule packages' own rows come
    after recoup's and may only add kinds recoup does not ship."""
    text = resources.files("recoup.policy").joinpath("windows.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    rows = {(r.kind, r.group, r.effective_from): r for r in _rows(data["windows"], "windows.toml")}
    kinds = [k for declared in _DECLARED for k in declared()]
    recoups = {r.kind for r in rows.values()}
    for origin, text in {k.origin: k.shipped for k in kinds if k.shipped is not None}.items():
        for r in _rows(_toml(text, origin).get("windows", []), origin):
            if r.kind in recoups:
                raise PolicyError(f"{origin}: window {r.kind} is recoup's own (not redefined)")
            rows[r.kind, r.group, r.effective_from] = r
    for r in _rows(window_overrides, "recoup.toml [[audit.windows]]"):
        rows[r.kind, r.group, r.effective_from] = r
    _without_window(rows.values(), kinds)
    basis = {
        str(b["group"]): _date(b["effective_from"], "windows.toml cost_basis")
        for b in data["cost_basis"]
    }
    for scope, day in (cost_basis_overrides or {}).items():
        basis[scope] = _date(day, f"recoup.toml audit.cost_basis.{scope}")
    groups = {name: frozenset(members) for name, members in data["groups"].items()}
    return Policy(groups, tuple(rows.values()), basis)
