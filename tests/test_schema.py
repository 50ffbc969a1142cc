"""Every one-to-one report declaration matches its canonical table in a freshly migrated workspace.

A `ReportType` without a `shape` casts each declared column and inserts it by name into
`<table>_rows` (recoup.ingest.load). So every declared column must exist there, with a type of
its kind (a date is DATE, an amount DECIMAL, a quantity an integer, text VARCHAR) that holds what
the cast gives without loss; and every column of a table that only such layouts fill, apart from
the loader's bookkeeping, must be declared by one of them, or it would always be NULL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import duckdb
import pytest

from recoup.reports import REPORT_TYPES, by_table
from recoup.reports.base import Column, Kind, ReportType
from recoup.reports.casts import FileStyle, cast_sql
from recoup.workspace import Workspace

# What the loader writes itself on every row, whatever the layout (load.py `_define_rows`).
BOOKKEEPING = frozenset({"account", "marketplace", "file_id", "line"})
INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")  # narrowest first
# The DuckDB types a kind may be stored as (before asking whether they hold the cast's values).
FAMILY: dict[Kind, str] = {
    "text": r"VARCHAR",
    "int": "|".join(INTEGERS),
    "decimal": r"DECIMAL\(\d+,\d+\)",  # money: never a binary float
    "measure": r"DOUBLE|FLOAT|DECIMAL\(\d+,\d+\)",
    "date": r"DATE",
    "bool": r"BOOLEAN",
}
ONE_TO_ONE = [r for r in REPORT_TYPES if r.shape is None]
# Tables only one-to-one layouts fill: nothing but their declarations can fill a column.
ONLY_ONE_TO_ONE = sorted(
    {r.table for r in ONE_TO_ONE if all(o.shape is None for o in by_table(r.table))}
)


@pytest.fixture(scope="module")
def columns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, str]]]:
    """Table -> column -> DuckDB type, of every canonical `<table>_rows` after all migrations."""
    with Workspace(tmp_path_factory.mktemp("schema") / "ws") as ws:
        found: dict[str, dict[str, str]] = {}
        for table, column, data_type in ws.con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE table_name LIKE '%\\_rows' ESCAPE '\\' ORDER BY table_name, column_index"
        ).fetchall():
            found.setdefault(table.removesuffix("_rows"), {})[column] = data_type
        yield found


def cast_type(kind: Kind) -> str:
    """The DuckDB type the loader's cast of a `kind` column gives (casts.py)."""
    sql = cast_sql(kind, "CAST(NULL AS VARCHAR)", FileStyle(), localised=False)
    row = duckdb.sql(f"SELECT typeof({sql})").fetchone()
    assert row is not None
    return str(row[0])


def _decimal(data_type: str) -> tuple[int, int]:
    match = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", data_type)
    assert match, data_type
    return int(match[1]), int(match[2])


def holds(stored: str, cast: str) -> bool:
    """A column of type `stored` keeps every value of type `cast` exactly."""
    if stored == cast:
        return True
    if stored in INTEGERS and cast in INTEGERS:
        return INTEGERS.index(stored) >= INTEGERS.index(cast)
    if stored.startswith("DECIMAL(") and cast.startswith("DECIMAL("):
        (p1, s1), (p2, s2) = _decimal(stored), _decimal(cast)
        return s1 >= s2 and p1 - s1 >= p2 - s2
    return stored == "DOUBLE" and cast == "FLOAT"


def problem(report: ReportType, column: Column, table: dict[str, str]) -> str | None:
    stored = table.get(column.name)
    where = f"{report.name}.{column.name} (declared {column.kind}"
    if stored is None:
        return f"{where}): no such column in {report.table}_rows"
    cast = cast_type(column.kind)
    if not re.fullmatch(FAMILY[column.kind], stored):
        return f"{where}, cast to {cast}): {report.table}_rows has {stored}"
    if not holds(stored, cast):
        return f"{where}, cast to {cast}): {report.table}_rows has {stored}, which loses values"
    return None


def test_the_kinds_cast_to_types_of_their_own_family() -> None:
    for kind, family in FAMILY.items():
        assert re.fullmatch(family, cast_type(kind)), (kind, cast_type(kind))


@pytest.mark.parametrize("report", ONE_TO_ONE, ids=lambda r: r.name)
def test_every_declared_column_is_in_the_table_with_a_type_of_its_kind(
    report: ReportType, columns: dict[str, dict[str, str]]
) -> None:
    assert report.table in columns, f"{report.name}: no table {report.table}_rows"
    table = columns[report.table]
    assert not BOOKKEEPING & {c.name for c in report.columns}, report.name
    found = [p for c in report.columns if (p := problem(report, c, table)) is not None]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("table", ONLY_ONE_TO_ONE)
def test_every_table_column_is_declared_by_a_layout_of_it(
    table: str, columns: dict[str, dict[str, str]]
) -> None:
    declared = {c.name for r in by_table(table) for c in r.columns}
    missing = BOOKKEEPING - set(columns[table])
    assert not missing, f"{table}_rows lacks the loader's {sorted(missing)}"
    stray = [
        f"{table}_rows.{name} ({data_type}): no layout of {table} declares it "
        f"({', '.join(r.name for r in by_table(table))})"
        for name, data_type in columns[table].items()
        if name not in BOOKKEEPING and name not in declared
    ]
    assert stray == [], "\n".join(stray)


def test_the_checks_cover_every_one_to_one_table() -> None:
    # A table filled by a one-to-one layout and by a reshaping one is checked one way only.
    mixed = {r.table for r in ONE_TO_ONE} - set(ONLY_ONE_TO_ONE)
    assert mixed == set(), f"one-to-one and reshaped layouts share {sorted(mixed)}"
