"""Where the audit's rules run: the workspace's DuckDB file, or Spark over a Parquet lake.

Both hand the rules the same canonical tables through Ibis; no rule knows which engine it is on.
A lake is what `recoup export-lake` writes: one Parquet folder per canonical table.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, cast

import duckdb
import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge
from duckdb import DuckDBPyConnection

from recoup.plans import Plans, Uncacheable
from recoup.reports import CANONICAL_TABLES
from recoup.sql import literal, run

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
    connect: Callable[[], Any]  # the Ibis backend, made on first use (`backend`)
    source: Callable[[str], ir.Table]
    available: Available  # account, tables -> those holding its rows

    cached: list[str] = field(default_factory=list)

    @cached_property
    def backend(self) -> Any:
        """The Ibis backend. Loading Ibis' DuckDB backend loads the compilers of every SQL
        dialect Ibis knows (0.45 s): an audit replayed from its trace never asks for it."""
        return self.connect()

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

    def parameters(
        self, account: str, as_of: dt.date
    ) -> tuple[ir.StringValue | None, ir.DateValue | None]:
        """The account and as-of date as the audit's queries should read them; None: as
        literals (recoup.rules.context)."""
        return None, None

    def execute(self, expr: ir.Expr) -> Any:
        return self.backend.execute(expr)

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        return list(self.backend.to_pyarrow(expr).to_pylist())

    def account_rows(
        self, table: str, account: str, columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """`columns` of the account's rows of `table` (a small one, such as its coverage)."""
        t = self.source(table)
        found = self.rows(t.filter(t.account == account).select(*columns))
        return [tuple(row[c] for c in columns) for row in found]

    def replay(self, key: str, on_step: Callable[[str], None]) -> list[dict[str, Any]] | None:
        """The rows an earlier audit recorded under `key` returned, computed again from its
        steps when the data still takes the same steps; None: build the rules (`record`)."""
        return None

    def record(self, key: str) -> None:
        """Record the steps up to the next `rows()` under `key`, for `replay`."""

    def mark(self, step: str) -> None:
        """A named point in a recording (a rule starts), reported again on replay."""

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

    def connect() -> Any:
        backend = ibis.duckdb.from_connection(con)
        before = backend._run_pre_execute_hooks  # Ibis runs it before every query it runs

        def reading(expr: ir.Expr) -> None:
            # Data read past `execute` (a rule package calling Ibis itself) may decide the
            # steps, and the trace would not know: this audit is not replayed.
            engine.unrecordable()
            before(expr)

        backend._run_pre_execute_hooks = reading
        return backend

    def source(name: str) -> ir.Table:
        return engine.backend.table(name)

    engine = DuckDBEngine("duckdb", connect, source, available, plans=plans or Plans(), con=con)
    return engine


# DuckDB session variables: read with getvariable(), folded into the plan like literals.
ACCOUNT_VARIABLE = "recoup_audit_account"
AS_OF_VARIABLE = "recoup_audit_as_of"


def _text_variable_sql(variable: str) -> str:  # type: ignore[empty-body]
    """A session variable holding text."""


def _date_variable_sql(variable: str) -> dt.date:  # type: ignore[empty-body]
    """A session variable holding a date."""


# Ibis' builtin-UDF decorator is untyped: applied as a call, with the types it gives.
_text_variable = cast(
    Callable[[str], ir.StringValue],
    ibis.udf.scalar.builtin(_text_variable_sql, name="getvariable"),
)
_date_variable = cast(
    Callable[[str], ir.DateValue],
    ibis.udf.scalar.builtin(_date_variable_sql, name="getvariable"),
)


@dataclass
class DuckDBEngine(Engine):
    """An intermediate table is created from SQL compiled once per expression (recoup.plans):
    Ibis compiles only what no earlier audit of this workspace compiled.

    An audit is also recorded as a trace: the plans it ran, the values it read to decide what to
    run next (how many FIFO rounds; whether any row needs a sale price), and the final query.
    The next audit with the same key (code, account, tables, settings) replays the trace without
    building a single Ibis expression, checking each value on the way; when one differs (the
    data changed shape), it goes back to building the rules, keeping the tables made so far."""

    plans: Plans = field(default_factory=Plans)
    con: DuckDBPyConnection | None = None  # the workspace's connection
    _key: str | None = None
    _trace: list[dict[str, Any]] | None = None  # being recorded; None: not, or not replayable

    def parameters(
        self, account: str, as_of: dt.date
    ) -> tuple[ir.StringValue | None, ir.DateValue | None]:
        """Session variables, so that the SQL (and its fingerprint) names neither the account
        nor the day: one compiled plan serves every account and every day's audit."""
        self.sql(f"SET VARIABLE {ACCOUNT_VARIABLE} = {literal(account)}")
        self.sql(f"SET VARIABLE {AS_OF_VARIABLE} = {literal(as_of)}")
        return _text_variable(ACCOUNT_VARIABLE), _date_variable(AS_OF_VARIABLE)

    def record(self, key: str) -> None:
        self._key, self._trace = key, []

    def mark(self, step: str) -> None:
        self._note({"rule": step})

    def unrecordable(self) -> None:
        self._trace = None

    def _note(self, step: dict[str, Any]) -> None:
        if self._trace is not None:
            self._trace.append(step)

    def cache(self, t: ir.Table) -> ir.Table:
        try:
            fingerprint = self.plans.fingerprints.of(t)
        except Uncacheable:
            self.unrecordable()  # its rows live in this process only: nothing to replay
            return super().cache(t)  # Ibis registers what the expression holds in memory
        # Named by what it holds, not by its place in the audit: a step that reads it then has
        # the same fingerprint whatever ran before it (a FIFO's rounds vary with the data).
        name = f"recoup_audit_{fingerprint[:24]}"
        self._note({"run": name, "plan": fingerprint})
        if name in self.cached:
            return self.backend.table(name)  # the same rows, already made in this audit
        self.cached.append(name)
        statements = self.plans.get(fingerprint)
        if statements is None:
            statements = self._compile(name, t)
            self.plans.put(fingerprint, statements)
        for statement in statements:
            self.sql(statement)
        return self.backend.table(name)

    def _select(self, expr: ir.Expr) -> str:
        """The query of `expr`, compiled once (recoup.plans)."""
        try:
            fingerprint = self.plans.fingerprints.of(expr)
        except Uncacheable:
            self.unrecordable()
            return str(self.backend.compile(expr))
        key = f"select:{fingerprint}"
        statements = self.plans.get(key)
        if statements is None:
            statements = [str(self.backend.compile(expr))]
            self.plans.put(key, statements)
        return statements[0]

    def execute(self, expr: ir.Expr) -> Any:
        """A scalar (a count, a maximum) read to decide what to run next: recorded, so that a
        replay can check the data still decides the same."""
        if not isinstance(expr, ir.Scalar):
            return super().execute(expr)
        sql = self._select(expr)
        value = self._value(sql)
        if value is None or isinstance(value, int | str | bool):
            self._note({"value": sql, "is": value})
        else:
            self.unrecordable()  # not kept as JSON as it is
        return value

    def sql(self, statement: str) -> DuckDBPyConnection:
        assert self.con is not None
        return self.con.execute(statement)

    def _value(self, sql: str) -> Any:
        row = self.sql(sql).fetchone()
        return None if row is None else row[0]

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        """The rows of `expr`, typed as Ibis types them; ends a recording."""
        sql = self._select(expr)
        schema = {name: str(dtype) for name, dtype in expr.schema().items()}
        rows = self._fetch(sql, schema)
        if self._key is not None and self._trace is not None:
            self.plans.put_trace(self._key, [*self._trace, {"rows": sql, "schema": schema}])
        self._key = self._trace = None
        return rows

    def _fetch(self, sql: str, schema: dict[str, str]) -> list[dict[str, Any]]:
        """Typed as Ibis' `to_pyarrow` types them. Ibis' DuckDB converter is not used: it
        imports pandas (0.3-0.6 s) for nothing an audit reads."""
        from ibis.formats.pyarrow import PyArrowData  # noqa: PLC0415

        assert self.con is not None
        table = self.con.sql(sql).to_arrow_table()
        return list(PyArrowData.convert_table(table, ibis.schema(schema)).to_pylist())

    def replay(self, key: str, on_step: Callable[[str], None]) -> list[dict[str, Any]] | None:
        steps = self.plans.trace(key)
        if not steps:
            return None
        try:
            return self._replay(steps, on_step)
        except (KeyError, TypeError, ValueError, duckdb.Error):
            return None  # a damaged or stale trace: build the rules instead

    def _replay(
        self, steps: list[dict[str, Any]], on_step: Callable[[str], None]
    ) -> list[dict[str, Any]] | None:
        for step in steps:
            if "rule" in step:
                on_step(step["rule"])
            elif "run" in step:
                name = step["run"]
                if name in self.cached:
                    continue
                statements = self.plans.get(step["plan"])
                if statements is None:
                    return None
                self.cached.append(name)
                for statement in statements:
                    self.sql(statement)
            elif "value" in step:
                if self._value(step["value"]) != step["is"]:
                    return None  # the data takes other steps now
            elif "rows" in step:
                return self._fetch(step["rows"], step["schema"])
        return None

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

    def account_rows(
        self, table: str, account: str, columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        assert self.con is not None
        names = ", ".join(f'"{c}"' for c in columns)
        return run(self.con, f"SELECT {names} FROM {table} WHERE account = ?", [account]).fetchall()

    def release(self) -> None:
        while self.cached:
            self.sql(f'DROP TABLE IF EXISTS temp.main."{self.cached.pop()}"')
        for variable in (ACCOUNT_VARIABLE, AS_OF_VARIABLE):
            self.sql(f"RESET VARIABLE {variable}")
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

    return SparkEngine("spark", lambda: backend, source, available, stop=session.stop)


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
