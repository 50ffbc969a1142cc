"""The audit's compiled SQL, and a trace of its steps, kept in the workspace between runs.

An audit builds its rules as Ibis expressions and materialises about forty intermediate tables.
Building the expressions and turning them into SQL costs Ibis 0.05-0.3 s a step whatever the data
size, which was most of an audit of a typical account. So recoup keeps two things:

- **Plans.** The SQL is a pure function of the expression, so each expression is compiled once
  and its statements kept, keyed by a fingerprint of the whole expression: every operation,
  column, type, literal (window days, options) and table name in it. Two expressions with one
  fingerprint are the same expression, so they compile to the same SQL; anything recoup cannot
  fingerprint (an in-memory table) is compiled every time. The account and the as-of date are
  session variables, not literals (recoup.engines), so one plan serves every day and account.
- **Traces.** The steps an audit took (recoup.engines.DuckDBEngine), keyed by what decides them
  besides the data: the code, the account, its tables, the settings and policy. The next audit
  with that key runs the steps again without building a single expression, checking on the way
  each value the data decided a step by (a count, the number of FIFO rounds).

The file is `<workspace>/cache/plans-<versions>.json` (or in the folder `RECOUP_PLANS_DIR` names,
which several workspaces may share): Ibis, sqlglot and DuckDB versions name it, so an upgrade
starts a fresh one. It is only a cache: deleting it costs one slower audit, and a damaged file is
ignored. Entries unused for `KEEP_DAYS` days are dropped when it is written.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir

from recoup import clock

FOLDER = "cache"
FOLDER_ENV = "RECOUP_PLANS_DIR"
KEEP_DAYS = 7
MAX_ENTRIES = 2_000  # about 5 KB each
_PLAIN = (str, int, float, bool, type(None), decimal.Decimal, dt.date, dt.time, dt.timedelta,
          bytes, enum.Enum)  # fmt: skip


class Uncacheable(Exception):
    """The expression holds something without a stable fingerprint (an in-memory table)."""


class Fingerprints:
    """Stable fingerprints of Ibis expressions, across processes (Python's own hashes are not).

    Sub-expressions are shared between the steps of one audit, so each node is walked once; the
    nodes are kept alive with their fingerprints, so an id is never reused for another node."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[object, str]] = {}

    def of(self, expr: ir.Expr) -> str:
        return self._walk(expr.op())

    def _walk(self, value: Any) -> str:
        if isinstance(value, _PLAIN):
            return f"{type(value).__name__}:{value!r}"
        if isinstance(value, tuple | list):
            return "(" + ",".join(self._walk(v) for v in value) + ")"
        if isinstance(value, frozenset):
            return "{" + ",".join(sorted(self._walk(v) for v in value)) + "}"
        if isinstance(value, Mapping) and not hasattr(value, "__argnames__"):
            return "{" + ",".join(f"{k!r}:{self._walk(v)}" for k, v in value.items()) + "}"
        if isinstance(value, ibis.BaseBackend):
            return "backend"  # a table is named in the SQL; which connection holds it is not
        names = getattr(type(value), "__argnames__", None)
        if names is None:
            raise Uncacheable(type(value).__qualname__)
        if type(value).__name__ == "InMemoryTable":
            raise Uncacheable("an in-memory table")  # its rows are registered at execution
        known = self._seen.get(id(value))
        if known is not None:
            return known[1]
        parts = [f"{type(value).__module__}.{type(value).__qualname__}"]
        parts += [f"{name}={self._walk(arg)}" for name, arg in zip(names, value.__args__,
                                                                   strict=True)]  # fmt: skip
        digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
        self._seen[id(value)] = (value, digest)
        return digest


def versions() -> str:
    """What the compiled SQL depends on besides the expression."""
    return f"ibis{ibis.__version__}-sqlglot{version('sqlglot')}-duckdb{duckdb.__version__}"


class Plans:
    """Compiled statements by fingerprint, read from and written back to one JSON file."""

    def __init__(self, path: Path | None = None, today: dt.date | None = None) -> None:
        """`path` None: kept for this audit only."""
        self.path = path
        self.today = (today or clock.today()).isoformat()
        self.fingerprints = Fingerprints()
        self._entries: dict[str, dict[str, Any]] = {}
        self._changed = False
        self.hits = self.misses = 0
        if path is not None:
            self._entries = _read(path)

    @classmethod
    def in_workspace(cls, root: Path, today: dt.date | None = None) -> Plans:
        folder = Path(os.environ.get(FOLDER_ENV) or root / FOLDER)
        return cls(folder / f"plans-{versions()}.json", today)

    def get(self, key: str) -> list[str] | None:
        entry = self._entries.get(key)
        if entry is None or "sql" not in entry:
            self.misses += 1
            return None
        self.hits += 1
        self._used(entry)
        return list(entry["sql"])

    def put(self, key: str, statements: list[str]) -> None:
        self._entries[key] = {"sql": statements, "used": self.today}
        self._changed = True

    def trace(self, key: str) -> list[dict[str, Any]] | None:
        """The steps an earlier audit with this key took (recoup.engines replays them)."""
        entry = self._entries.get(f"trace:{key}")
        if entry is None or "trace" not in entry:
            return None
        self._used(entry)
        return list(entry["trace"])

    def put_trace(self, key: str, steps: list[dict[str, Any]]) -> None:
        self._entries[f"trace:{key}"] = {"trace": steps, "used": self.today}
        self._changed = True

    def _used(self, entry: dict[str, Any]) -> None:
        if entry["used"] != self.today:
            entry["used"], self._changed = self.today, True

    def save(self) -> None:
        """Write the file back (atomically) when this audit added or used new entries."""
        if self.path is None or not self._changed:
            return
        oldest = (dt.date.fromisoformat(self.today) - dt.timedelta(days=KEEP_DAYS)).isoformat()
        kept = sorted(
            ((k, v) for k, v in self._entries.items() if v["used"] >= oldest),
            key=lambda item: item[1]["used"], reverse=True,
        )[:MAX_ENTRIES]  # fmt: skip
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False,
                                             suffix=".tmp", encoding="utf-8") as out:  # fmt: skip
                json.dump(dict(kept), out, separators=(",", ":"))
            os.replace(out.name, self.path)
        except OSError:
            return  # a cache that cannot be written only makes the next audit slower
        self._changed = False


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if _valid(v)}


def _valid(entry: Any) -> bool:
    """A plan (`sql`: statements) or a trace (`trace`: steps), with the day it was last used."""
    if not isinstance(entry, dict) or not isinstance(entry.get("used"), str):
        return False
    if isinstance(entry.get("sql"), list):
        return all(isinstance(s, str) for s in entry["sql"])
    if isinstance(entry.get("trace"), list):
        return all(isinstance(s, dict) and len(s) in {1, 2} for s in entry["trace"])
    return False


def source_fingerprint(paths: Iterable[Path]) -> str:
    """A fingerprint of source files: a trace is only as good as the code that recorded it."""
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"missing")
    return digest.hexdigest()
