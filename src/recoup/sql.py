"""Queries with parameters, bound by recoup as SQL literals: `run(con, sql, params)`.

DuckDB's Python client imports pandas, NumPy and pyarrow (0.4 s, more than the rest of a command's
start-up) the first time a query is given any Python parameter, only to check whether it is a
pandas `NaT`. recoup's parameters are plain values (text, whole numbers, decimals, dates,
booleans, lists of them), so it writes them into the SQL itself, as literals DuckDB reads back
exactly, and `recoup status`, `recoup findings` or `recoup claims list` never pay for libraries
they do not use (tests/test_startup.py).

Parameters are `?` (a sequence) or `$name` (a mapping), as DuckDB's own. A literal is never built
from anything but a value: text is quoted with its quotes doubled, so a SKU or a case id cannot
change the query. Every query with parameters goes through here (tests/test_architecture.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from duckdb import DuckDBPyConnection

Params = Sequence[Any] | Mapping[str, Any]

# What the binder steps over whole: quoted text and identifiers, comments; then the two markers.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|(?P<mark>\?|\$(?P<name>[A-Za-z_]\w*))""",
    re.DOTALL,
)


class ParameterError(TypeError):
    """A parameter recoup cannot write as a literal, or a mismatch of markers and values."""


def literal(value: Any) -> str:
    """`value` as a DuckDB literal of the same type a bound parameter would have."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"({value})" if value < 0 else str(value)  # `x - -1` would start a comment
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ParameterError(f"cannot bind the decimal {value}")
        text = format(value, "f")
        text += "" if "." in text else ".0"  # `100` alone would read back as a whole number
        return f"({text})" if value < 0 else text
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"'{value}'::DOUBLE"
        return f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, dt.datetime):  # before date: a datetime is a date too
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return f"{kind} '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        if "\x00" in value:  # DuckDB's parser would take it for the end of the query
            raise ParameterError("cannot bind text holding a NUL character")
        return quoted(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise ParameterError(f"cannot bind a {type(value).__name__} as a query parameter")


def quoted(text: str) -> str:
    """`text` as an SQL string literal: in single quotes, its own quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def bind(sql: str, params: Params) -> str:
    """`sql` with each `?` (or `$name`) outside quotes and comments replaced by its literal."""
    named = params if isinstance(params, Mapping) else None
    values = iter(params if named is None else ())
    used = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        if not match.group("mark"):
            return match.group(0)
        name = match.group("name")
        if named is not None:
            if name is None or name not in named:
                raise ParameterError(f"no value for {match.group('mark')} in {sorted(named)}")
            return literal(named[name])
        if name is not None:
            raise ParameterError(f"${name} needs its parameters by name")
        used += 1
        try:
            return literal(next(values))
        except StopIteration:
            raise ParameterError(f"the query has more than {used - 1} '?'") from None

    bound = _TOKEN.sub(replace, sql)
    if named is None and next(values, _END) is not _END:
        raise ParameterError(f"the query has {used} '?' but more values were given")
    return bound


_END = object()


def run(con: DuckDBPyConnection, sql: str, params: Params = ()) -> DuckDBPyConnection:
    """`con.execute(sql, params)`, with the parameters bound by `bind`."""
    return con.execute(bind(sql, params) if params else sql)
