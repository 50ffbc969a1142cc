"""Where the audit's rules run: the workspace's DuckDB file, or Spark over a Parquet lake.

Both hand the rules the same canonical tables through Ibis; no rule knows which engine it is on.
A lake is what `recoup export-lake` writes: one Parquet folder per canonical table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge
from duckdb import DuckDBPyConnection

from recoup.plans import Plans, Uncacheable
from recoup.reports import CANONICAL_TABLES
from recoup.sql import run

# Kept by recoup itself rather than imported: no `<name>_rows` table behind them.
OWN_TABLES = ("shipments_seen_closed", "claim_cases", "file_coverage")
# Every table an engine can hand the audit: one per report layout's canonical table, and recoup's
# own. Which of them an audit reads, its rules declare (recoup.audit.audit_tables).
ALL_TABLES = (*CANONICAL_TABLES, *OWN_TABLES)


class Available(Protocol):
    def __call__(self, account: str, tables: Iterable[str] = ALL_TABLES) -> frozenset[str]:
        """Those of `tables` holding rows of the account."""
        ...


@dataclass
class Engine:
    name: str
    backend: Any
    source: Callable[[str], ir.Table]
    available: Available  # account, tables -> those holding its rows

    cached: list[str] = field(default_factory=list)

    def cache(self, t: ir.Table) -> ir.Table:
        """Materialise `t` as a temporary table; `release()` drops them all."""
        name = f"recoup_audit_{len(self.cached)}"
        self.cached.append(name)
        self.backend.create_table(name, obj=t, temp=True, overwrite=True)
        return self.backend.table(name)

    def release(self) -> None:
        """Drop the audit's intermediate tables (they live as long as the connection)."""
        while self.cached:
            self.backend.drop_table(self.cached.pop(), force=True)

    def execute(self, expr: ir.Expr) -> Any:
        return self.backend.execute(expr)

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        return list(self.backend.to_pyarrow(expr).to_pylist())

    def close(self) -> None:
        pass


def duckdb_engine(
    con: DuckDBPyConnection, memory_limit: str | None = None, plans: Plans | None = None
) -> Engine:
    """The rules on the workspace's own connection. `memory_limit` bounds DuckDB for this
    connection (it spills to `<workspace>/recoup.duckdb.tmp` beyond it); `plans` keeps the
    compiled SQL of each step between audits (recoup.plans)."""
    if memory_limit:
        run(con, "SET memory_limit = ?", [memory_limit])
    backend = ibis.duckdb.from_connection(con)

    def available(account: str, tables: Iterable[str] = ALL_TABLES) -> frozenset[str]:
        found = set()
        for name in tables:
            if name not in ALL_TABLES:  # a table no report layout fills: nothing to read
                continue
            table = name if name in OWN_TABLES else f"{name}_rows"
            row = run(
                con,
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE account = ? LIMIT 1)",
                [account],
            ).fetchone()
            if row and row[0]:
                found.add(name)
        return frozenset(found)

    return DuckDBEngine("duckdb", backend, backend.table, available, plans=plans or Plans())


@dataclass
class DuckDBEngine(Engine):
    """An intermediate table is created from SQL compiled once per expression (recoup.plans):
    Ibis compiles only what no earlier audit of this workspace compiled."""

    plans: Plans = field(default_factory=Plans)

    def cache(self, t: ir.Table) -> ir.Table:
        try:
            fingerprint = self.plans.fingerprints.of(t)
        except Uncacheable:
            return super().cache(t)  # Ibis registers what the expression holds in memory
        name = f"recoup_audit_{len(self.cached)}"
        self.cached.append(name)
        key = f"{name}:{fingerprint}"
        statements = self.plans.get(key)
        if statements is None:
            statements = self._compile(name, t)
            self.plans.put(key, statements)
        for statement in statements:
            self.backend.con.execute(statement)
        return self.backend.table(name)

    def _compile(self, name: str, t: ir.Table) -> list[str]:
        """What Ibis' own `create_table(temp=True)` runs, as SQL text: the table with the
        expression's column types, then the rows."""
        compiler = self.backend.compiler
        dialect, quoted = compiler.dialect, compiler.quoted
        table = sge.table_(name, catalog="temp", db="main", quoted=quoted)
        create = sge.Create(
            kind="TABLE",
            this=sge.Schema(this=table, expressions=t.schema().to_sqlglot_column_defs(dialect)),
            properties=sge.Properties(expressions=[sge.TemporaryProperty()]),
            replace=True,
        )
        columns = [sge.to_identifier(c, quoted=quoted) for c in t.columns]
        insert = sge.insert(compiler.to_sqlglot(t), into=table, columns=columns)
        return [create.sql(dialect), insert.sql(dialect)]

    def release(self) -> None:
        super().release()
        self.plans.save()


def spark_engine(lake: Path, master: str | None = None) -> Engine:
    """Spark (local mode unless `master` or SPARK_MASTER say otherwise) over a lake."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 - optional: recoup[spark]

    builder = SparkSession.builder.appName("recoup-audit")
    if master:
        builder = builder.master(master)
    session = (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", os.environ.get("RECOUP_SPARK_DRIVER_MEMORY", "2g"))
        .getOrCreate()
    )
    backend = ibis.pyspark.connect(session)
    tables: dict[str, ir.Table] = {}

    def source(name: str) -> ir.Table:
        if name not in tables:
            folder = lake / name
            if not folder.exists():
                raise FileNotFoundError(f"{folder}: not in the lake (run recoup export-lake)")
            tables[name] = backend.read_parquet(str(folder), table_name=name)
        return tables[name]

    def available(account: str, tables: Iterable[str] = ALL_TABLES) -> frozenset[str]:
        found = set()
        for name in tables:
            if (lake / name).exists():
                t = source(name)
                if backend.execute(t.filter(t.account == account).limit(1).count()) > 0:
                    found.add(name)
        return frozenset(found)

    return SparkEngine("spark", backend, source, available, stop=session.stop)


@dataclass
class SparkEngine(Engine):
    """On Spark an intermediate table is a checkpointed DataFrame under a temporary view name:
    the checkpoint cuts the query's lineage, so later plans stay small (Ibis' own cache keeps
    the lineage, and Spark then spends its memory planning ever deeper queries)."""

    stop: Callable[[], None] = lambda: None
    frames: list[Any] = field(default_factory=list)

    def cache(self, t: ir.Table) -> ir.Table:
        name = f"recoup_audit_{len(self.frames)}"
        session = self.backend._session
        frame = session.sql(str(self.backend.compile(t))).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self.frames.append((name, frame))
        return self.backend.table(name)

    def release(self) -> None:
        session = self.backend._session
        while self.frames:
            name, frame = self.frames.pop()
            session.catalog.dropTempView(name)
            frame.unpersist()

    def close(self) -> None:
        self.stop()
