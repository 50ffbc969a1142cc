"""The finding kinds recoup knows: every module of `recoup.rules` that declares a `KIND`, and the
rule modules of installed rule packages, found through the `recoup.rules` entry point group:

    # pyproject.toml of a seller's or an agency's own rule package
    [project.entry-points."recoup.rules"]
    acme = "acme_rules"        # a package of rule modules, or a single rule module

`pip install` the package into recoup's environment and every command, the dashboard and the
Spark lake pick its kinds up. `register(module)` does the same from Python (a test, a script).

The registry is read lazily, on first use, and `RULES` / `KINDS` are live views of it, so a
module that imported them before a kind was registered still sees it.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from types import ModuleType
from typing import overload

from recoup.rules.kind import Rule, RuleError, rule_of

ENTRY_POINTS = "recoup.rules"


def rule_modules(module: ModuleType) -> list[ModuleType]:
    """A rule module itself, or the rule modules (those declaring a KIND) of a package."""
    if hasattr(module, "KIND"):
        return [module]
    if not hasattr(module, "__path__"):
        raise RuleError(f"{module.__name__}: neither a rule module (no KIND) nor a package")
    found = []
    for info in pkgutil.iter_modules(module.__path__, f"{module.__name__}."):
        child = importlib.import_module(info.name)
        if hasattr(child, "KIND"):
            found.append(child)
    return found


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rules: dict[str, Rule] = {}
        # Entry points read so far (name, value) -> the kinds they added.
        self._entry_points: dict[tuple[str, str], list[str]] = {}
        # (rules in order, rules by kind), swapped whole; None until first read.
        self._view: tuple[tuple[Rule, ...], dict[str, Rule]] | None = None

    def view(self) -> tuple[tuple[Rule, ...], dict[str, Rule]]:
        view = self._view
        if view is None:
            with self._lock:
                if self._view is None:
                    self._load()
                view = self._view
        assert view is not None
        return view

    def _load(self) -> None:
        # Published only whole: a rule package that fails to load fails every read, not just
        # the first one.
        try:
            for module in rule_modules(importlib.import_module("recoup.rules")):
                self._add(module)
            self._discover()
        except Exception:
            self._rules.clear()
            self._entry_points.clear()
            raise
        self._publish()

    def _publish(self) -> None:
        ordered = tuple(sorted(self._rules.values(), key=lambda r: (r.order, r.kind)))
        self._view = (ordered, {r.kind: r for r in ordered})

    def _discover(self) -> list[Rule]:
        added = []
        for point in entry_points(group=ENTRY_POINTS):
            if (point.name, point.value) in self._entry_points:
                continue
            try:
                loaded = point.load()
            except Exception as error:
                raise RuleError(
                    f"rule package {point.value!r} (entry point {point.name!r} of group "
                    f"{ENTRY_POINTS!r}) cannot be imported: {error}"
                ) from error
            rules = [rule for module in rule_modules(loaded) for rule in self._add(module)]
            self._entry_points[point.name, point.value] = [rule.kind for rule in rules]
            added += rules
        return added

    def _add(self, module: ModuleType) -> list[Rule]:
        rule = rule_of(module)
        known = self._rules.get(rule.kind)
        if known is not None:
            if known.find is rule.find:
                return []
            raise RuleError(
                f"finding kind {rule.kind} is declared twice: by {known.find.__module__} and "
                f"by {module.__name__}"
            )
        self._rules[rule.kind] = rule
        return [rule]

    def register(self, module: ModuleType) -> list[Rule]:
        self.view()
        with self._lock:
            try:
                return [rule for m in rule_modules(module) for rule in self._add(m)]
            finally:
                self._publish()

    def discover(self) -> list[Rule]:
        self.view()
        with self._lock:
            try:
                return self._discover()
            finally:
                self._publish()

    def unregister(self, kind: str) -> None:
        self.view()
        with self._lock:
            self._rules.pop(kind, None)
            # A package whose kinds are all gone is read again by the next `discover()`.
            self._entry_points = {point: kinds for point, kinds in self._entry_points.items()
                                  if not kinds or set(kinds) & set(self._rules)}  # fmt: skip
            self._publish()


_REGISTRY = _Registry()


def register(module: ModuleType) -> list[Rule]:
    """Add the finding kinds of a rule module, or of a package of them; returns the new rules.
    Registering the same module again adds nothing; another module with a known KIND is an
    error."""
    return _REGISTRY.register(module)


def discover() -> list[Rule]:
    """Add the kinds of rule packages installed (entry points) since recoup first looked."""
    return _REGISTRY.discover()


def unregister(kind: str) -> None:
    """Forget a registered kind (a test cleaning up after itself)."""
    _REGISTRY.unregister(kind)


def rule(kind: str) -> Rule:
    """The rule of a finding kind; KeyError, naming the kind, when none is registered."""
    found = _REGISTRY.view()[1].get(kind)
    if found is None:
        raise KeyError(f"no finding kind {kind!r} is registered (is its rule package installed?)")
    return found


class Rules(Sequence[Rule]):
    """Every registered rule, in the order they run and are listed."""

    @overload
    def __getitem__(self, index: int) -> Rule: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Rule]: ...
    def __getitem__(self, index: int | slice) -> Rule | Sequence[Rule]:
        return _REGISTRY.view()[0][index]

    def __len__(self) -> int:
        return len(_REGISTRY.view()[0])

    def __iter__(self) -> Iterator[Rule]:
        return iter(_REGISTRY.view()[0])

    def __repr__(self) -> str:
        return f"Rules({', '.join(r.kind for r in self)})"


class Kinds(Sequence[str]):
    """Every registered finding kind, in the rules' order."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        kinds = tuple(_REGISTRY.view()[1])
        return kinds[index]

    def __len__(self) -> int:
        return len(_REGISTRY.view()[1])

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(_REGISTRY.view()[1]))

    def __contains__(self, kind: object) -> bool:
        return kind in _REGISTRY.view()[1]

    def __repr__(self) -> str:
        return f"Kinds({', '.join(self)})"
