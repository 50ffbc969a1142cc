"""Stage, cast and merge one decoded report into the workspace, in one transaction.

Stage: DuckDB reads the normalised copy with every column as text (rows with the wrong number of
fields become rejects). Cast: each canonical column is cast per its kind and the file's style;
a present value that cannot be read, or a missing required value, rejects its row with the
column and raw text. Merge: the surviving rows go to `<table>_rows`, the days the file covers to
`coverage_days`. Anything that fails rolls the whole file back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from recoup.ingest.decode import Layout
from recoup.ingest.errors import FileProblem
from recoup.reports.base import Column, DayBased
from recoup.reports.casts import KIND_WORDS, SQL_TYPES, FileStyle, cast_sql, clean
from recoup.reports.marketplaces import currency_sql, marketplace_sql

MAX_LINE_BYTES = 64 * 1024 * 1024  # a 10 MB product title must not fail a whole report


@dataclass
class Loaded:
    file_id: int
    rows: int
    rejects: int
    first_date: object
    last_date: object
    warnings: list[str] = field(default_factory=list)
    reject_samples: list[tuple[int | None, str | None, str | None, str]] = field(
        default_factory=list
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class FileLoader:
    """Loads one file. The caller owns the transaction (begin/commit/rollback)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        layout: Layout,
        *,
        name: str,
        account: str,
        marketplace: str | None,
        file_id: int,
    ) -> None:
        self.con = con
        self.layout = layout
        self.report = layout.report
        self.name = name
        self.account = account
        self.marketplace = marketplace
        self.file_id = file_id
        self.located = self.report.locate(layout.normalised)
        self.stage = f"stage_{file_id}"
        self.counted: tuple[int, object, object] = (0, None, None)
        self.rows = f"cast_{file_id}"

    def load(self, normalised: Path) -> Loaded:
        self._stage(normalised)
        style = self._style()
        self._cast(style)
        self._reject_unreadable()
        self._resolve_marketplace()
        self._insert()
        warnings = self._check()
        return self._finish(warnings)

    # -- stage -------------------------------------------------------------------------------

    def _stage(self, normalised: Path) -> None:
        columns = {"line_no": "BIGINT"} | {
            f"c{i}": "VARCHAR" for i in range(len(self.layout.header))
        }
        quote = '"' if self.layout.quoted else ""
        spec = ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in columns.items())
        self.con.execute(
            f"""CREATE TEMP TABLE {self.stage} AS SELECT * FROM read_csv(
                {_quote(str(normalised))}, delim={_quote(self.layout.delimiter)},
                quote={_quote(quote)}, escape={_quote(quote)}, header=false,
                auto_detect=false, columns={{{spec}}}, store_rejects=true,
                rejects_table='rejected_{self.file_id}', rejects_scan='scanned_{self.file_id}',
                max_line_size={MAX_LINE_BYTES}, buffer_size={2 * MAX_LINE_BYTES},
                null_padding=false, parallel=true)"""
        )
        names = " ".join(f"WHEN 'c{i}' THEN {_quote(h)}" for i, h in enumerate(self.layout.header))
        d = _quote(self.layout.delimiter)
        # DuckDB reports a short row once per missing column: one reject per line is enough.
        self.con.execute(
            f"""INSERT INTO rejects
            SELECT {self.file_id}, TRY_CAST(split_part(csv_line, {d}, 1) AS BIGINT),
                   CASE column_name {names} ELSE NULL END, raw,
                   CASE error_type WHEN 'MISSING COLUMNS' THEN 'too few fields'
                                   WHEN 'TOO MANY COLUMNS' THEN 'too many fields'
                                   ELSE lower(CAST(error_type AS VARCHAR)) END
                   || format(' (found {{}}, expected {len(self.layout.header)})',
                             length(raw) - length(replace(raw, {d}, '')) + 1)
            FROM (SELECT csv_line, substr(csv_line, strpos(csv_line, {d}) + 1) AS raw,
                         arg_min(column_name, column_idx) AS column_name,
                         arg_min(error_type, column_idx) AS error_type
                  FROM rejected_{self.file_id} GROUP BY csv_line, line)"""
        )
        self.con.execute(f"DROP TABLE rejected_{self.file_id}")
        self.con.execute(f"DROP TABLE scanned_{self.file_id}")

    def _text(self, column: Column) -> str:
        return clean(f"c{self.located[column.name]}")

    def _style(self) -> FileStyle:
        """Detect how this file writes numbers and slashed dates."""
        numbers = "plain"
        decimals = [
            self._text(c)
            for c in self.report.columns
            if c.kind in ("decimal", "measure") and c.name in self.located
        ]
        if self.report.localised_numbers and decimals:
            probe = " OR ".join(
                f"regexp_full_match({t}, '[+-]?[0-9.\\s\u00a0\u202f]*[0-9],[0-9]{{1,2}}')"
                for t in decimals
            )
            comma = self.con.execute(f"SELECT bool_or({probe}) FROM {self.stage}").fetchone()
            numbers = "comma" if comma and comma[0] else "dot"
        dates = [
            self._text(c)
            for c in self.report.columns
            if c.kind == "date" and c.name in self.located
        ]
        order = "mdy"
        if dates:
            probe = " OR ".join(
                f"regexp_full_match(split_part({t}, ' ', 1), "
                f"'(1[3-9]|2[0-9]|3[01])/[0-9]{{1,2}}/[0-9]{{2,4}}')"
                for t in dates
            )
            dmy = self.con.execute(f"SELECT bool_or({probe}) FROM {self.stage}").fetchone()
            order = "dmy" if dmy and dmy[0] else "mdy"
        return FileStyle(numbers=numbers, slash_order=order)  # type: ignore[arg-type]

    # -- cast --------------------------------------------------------------------------------

    def _checked(self, column: Column) -> bool:
        return column.name in self.located and (column.kind != "text" or column.not_null)

    def _cast(self, style: FileStyle) -> None:
        sources = [
            (marketplace_sql if s.read_as == "marketplace" else currency_sql)(
                self._text(self.report.column(s.column))
            )
            for s in self.report.marketplace_from
            if s.column in self.located
        ]
        market = f"coalesce({', '.join(sources)})" if sources else "NULL"
        selects = [
            f"{_quote(self.account)} AS account",
            f"CAST({market} AS VARCHAR) AS marketplace",
            f"{self.file_id} AS file_id",
            "line_no AS line",
        ]
        for column in self.report.columns:
            if column.name in self.located:
                value = cast_sql(
                    column.kind, self._text(column), style, self.report.localised_numbers
                )
            else:
                value = "NULL"
            selects.append(f"CAST({value} AS {SQL_TYPES[column.kind]}) AS {column.name}")
            if self._checked(column):
                selects.append(f"{self._text(column)} AS raw__{column.name}")
        self.con.execute(
            f"CREATE TEMP TABLE {self.rows} AS SELECT {', '.join(selects)} FROM {self.stage}"
        )
        self.con.execute(f"DROP TABLE {self.stage}")

    def _reject_unreadable(self) -> None:
        checks = []
        for column in self.report.columns:
            if not self._checked(column):
                continue
            header = _quote(self.layout.header[self.located[column.name]])
            raw = f"raw__{column.name}"
            if column.kind != "text":
                problem = _quote(f"cannot be read as {KIND_WORDS[column.kind]}")
                checks.append(
                    f"SELECT line, {header}, {raw}, {problem} FROM {self.rows} "
                    f"WHERE {raw} IS NOT NULL AND {column.name} IS NULL"
                )
            if column.not_null:
                checks.append(
                    f"SELECT line, {header}, NULL, 'missing value' FROM {self.rows} "
                    f"WHERE {raw} IS NULL"
                )
        if checks:
            self.con.execute(
                f"INSERT INTO rejects SELECT {self.file_id}, * FROM ({' UNION ALL '.join(checks)})"
            )
            self.con.execute(
                f"DELETE FROM {self.rows} WHERE line IN "
                f"(SELECT line FROM rejects WHERE file_id = {self.file_id})"
            )

    # -- marketplace -------------------------------------------------------------------------

    def _resolve_marketplace(self) -> None:
        """The row's own marketplace column, else the file's usual one, else --marketplace."""
        usual = self.con.execute(
            f"SELECT marketplace FROM {self.rows} WHERE marketplace IS NOT NULL "
            f"GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
        fallback = usual[0] if usual else self.marketplace
        if fallback is not None:
            self.con.execute(
                f"UPDATE {self.rows} SET marketplace = {_quote(fallback)} WHERE marketplace IS NULL"
            )
        unknown = self.con.execute(
            f"SELECT count(*), min(line) FROM {self.rows} WHERE marketplace IS NULL"
        ).fetchone()
        if unknown and unknown[0]:
            raise FileProblem(
                self.name,
                f"the {self.report.title} does not say which marketplace its {unknown[0]} row(s) "
                "belong to; pass --marketplace (e.g. --marketplace US)",
                int(unknown[1]),
            )

    # -- merge -------------------------------------------------------------------------------

    def _insert(self) -> None:
        if self.report.shape is not None:
            targets = self.report.shape(self.rows)
        else:
            names = ", ".join(c.name for c in self.report.columns)
            targets = [
                (
                    self.report.table,
                    f"SELECT account, marketplace, file_id, line, {names} FROM {self.rows}",
                )
            ]
        inserted = 0
        for table, select in targets:
            done = self.con.execute(f"INSERT INTO {table}_rows BY NAME {select}").fetchone()
            if table == self.report.table and done is not None:
                inserted = int(done[0])
        date = self.report.date_column
        period = self.con.execute(
            f"SELECT min({date}), max({date}) FROM {self.rows}" if date else "SELECT NULL, NULL"
        ).fetchone()
        assert period is not None
        self.counted = (inserted, period[0], period[1])
        if isinstance(self.report.merge, DayBased):
            day = self.report.merge.day_column
            self.con.execute(
                f"""INSERT INTO coverage_days
                SELECT {_quote(self.report.table)}, account, marketplace,
                       CAST(unnest(generate_series(min({day}), max({day}), INTERVAL 1 DAY))
                            AS DATE), {self.file_id}
                FROM {self.rows} GROUP BY account, marketplace"""
            )
        self.con.execute(f"DROP TABLE {self.rows}")

    def _check(self) -> list[str]:
        if self.report.check is None:
            return []
        found = self.con.execute(self.report.check(self.file_id)).fetchall()
        warnings = [str(row[0]) for row in found]
        for warning in warnings:
            self.con.execute("INSERT INTO import_warnings VALUES (?, ?)", [self.file_id, warning])
        return warnings

    def _finish(self, warnings: list[str]) -> Loaded:
        counted = self.counted
        rejected = self.con.execute(
            "SELECT line, column_name, raw_text, problem FROM rejects WHERE file_id = ? "
            "ORDER BY line NULLS FIRST",
            [self.file_id],
        ).fetchall()
        self.con.execute(
            "UPDATE source_files SET rows = ?, rejects = ?, first_date = ?, last_date = ? "
            "WHERE file_id = ?",
            [counted[0], len(rejected), counted[1], counted[2], self.file_id],
        )
        return Loaded(
            self.file_id,
            int(counted[0]),
            len(rejected),
            counted[1],
            counted[2],
            warnings,
            [(r[0], r[1], r[2], r[3]) for r in rejected[:20]],
        )


def register(
    con: duckdb.DuckDBPyConnection,
    *,
    account: str,
    sha256: str,
    name: str,
    origin: str,
    size: int,
    layout: Layout,
) -> int:
    """Add the file to `source_files` (inside the caller's transaction); return its id."""
    row = con.execute("SELECT nextval('source_file_ids')").fetchone()
    assert row is not None
    file_id = int(row[0])
    con.execute(
        "INSERT INTO source_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, NULL, NULL, "
        "now())",
        [
            file_id,
            account,
            sha256,
            name,
            origin,
            size,
            layout.report.name,
            layout.report.table,
            layout.encoding,
            "tab" if layout.delimiter == "\t" else "comma",
            layout.header_line,
            json.dumps(layout.header, ensure_ascii=False),
        ],
    )
    return file_id
