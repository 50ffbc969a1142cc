"""recoup.sql: parameters written as literals read back by DuckDB exactly as bound ones are."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from recoup.sql import ParameterError, bind, literal, run

VALUES: list[Any] = [
    None, True, False, 0, -3, 2**40, -(2**40), Decimal("12.50"), Decimal("-0.01"),
    Decimal("1E+2"), 1.5, -0.25, dt.date(2026, 2, 28), dt.datetime(2026, 2, 28, 13, 5, 7),
    "plain", "O'Brien's \"mug\"", "-- not a comment", "? and $name inside", "ümlaut 日本",
    ["a", "b'c"], [dt.date(2026, 1, 1)], [],
]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_literal_reads_back_as_the_value(value: Any) -> None:
    con = duckdb.connect()
    (back,) = con.execute(f"SELECT {literal(value)}").fetchone() or (object(),)
    assert back == value
    assert type(back) is type(value) or isinstance(value, list | float)


def test_negatives_cannot_start_a_comment() -> None:
    con = duckdb.connect()
    assert run(con, "SELECT 5 -?", [-3]).fetchone() == (8,)
    assert run(con, "SELECT 5 -?", [Decimal("-1.5")]).fetchone() == (Decimal("6.5"),)


def test_markers_in_quotes_and_comments_are_left_alone() -> None:
    sql = "SELECT '?', \"?\", ? -- a ? in a comment\n, /* $x ? */ ?"
    assert bind(sql, ["a", 1]) == "SELECT '?', \"?\", 'a' -- a ? in a comment\n, /* $x ? */ 1"
    con = duckdb.connect()
    assert run(con, "SELECT 'it''s ?', ?", ["x"]).fetchone() == ("it's ?", "x")


def test_named_parameters() -> None:
    con = duckdb.connect()
    row = run(con, "SELECT $a, $b, $a", {"a": "x'", "b": dt.date(2026, 1, 2)}).fetchone()
    assert row == ("x'", dt.date(2026, 1, 2), "x'")


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT ?, ?", [1]),
        ("SELECT ?", [1, 2]),
        ("SELECT $a", {"b": 1}),
        ("SELECT $a", [1]),
        ("SELECT ?", {"a": 1}),
        ("SELECT ?", [object()]),
        ("SELECT ?", ["nul\x00"]),
        ("SELECT ?", [Decimal("NaN")]),
    ],
)
def test_what_cannot_be_bound_is_refused(sql: str, params: Any) -> None:
    with pytest.raises(ParameterError):
        bind(sql, params)


def test_text_cannot_change_the_query() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (sku VARCHAR)")
    run(con, "INSERT INTO t VALUES (?)", ["x'); DROP TABLE t; --"])
    assert con.execute("SELECT sku FROM t").fetchall() == [("x'); DROP TABLE t; --",)]
