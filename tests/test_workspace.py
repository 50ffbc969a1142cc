"""Workspace: migrations run in order, and a fresh workspace equals an upgraded one."""

from pathlib import Path

from recoup.reports import REPORT_TYPES
from recoup.reports.casts import SQL_TYPES
from recoup.workspace import Workspace, migrations


def _schema(ws: Workspace) -> list[tuple[object, ...]]:
    columns = ws.con.execute(
        "SELECT table_name, column_index, column_name, data_type, is_nullable "
        "FROM duckdb_columns() WHERE NOT internal ORDER BY ALL"
    ).fetchall()
    views = ws.con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL"
    ).fetchall()
    sequences = ws.con.execute("SELECT sequence_name FROM duckdb_sequences() ORDER BY 1").fetchall()
    versions = ws.con.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
    return [*columns, *views, *sequences, *versions]


def test_fresh_and_upgraded_workspaces_end_identical(tmp_path: Path) -> None:
    first = migrations()[0].version
    with Workspace(tmp_path / "old", target_version=first) as old:
        assert old.schema_version() == first
        old.con.execute("INSERT INTO import_warnings VALUES (1, 'kept across the upgrade')")
    with Workspace(tmp_path / "old") as upgraded, Workspace(tmp_path / "new") as fresh:
        assert upgraded.schema_version() == fresh.schema_version() == migrations()[-1].version
        assert _schema(upgraded) == _schema(fresh)
        assert upgraded.con.execute("SELECT message FROM import_warnings").fetchall() == [
            ("kept across the upgrade",)
        ]


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        assert ws.migrate() == []


def test_every_declared_column_has_its_table_column(workspace: Workspace) -> None:
    """The report declarations and the migrations agree (shaped reports map their own way)."""
    types = {
        (t, c): d
        for t, c, d in workspace.con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns()"
        ).fetchall()
    }
    for report in REPORT_TYPES:
        if report.shape is not None:
            continue
        for column in report.columns:
            assert types[(f"{report.table}_rows", column.name)] == SQL_TYPES[column.kind], (
                report.name,
                column.name,
            )
