"""Stage, cast and merge one decoded report into the workspace, in one transaction.

Stage: DuckDB reads the normalised copy with every column as text (rows with the wrong number of
fields become rejects). Cast: each canonical column is cast per its kind and the file's style;
a present value that cannot be read, or a missing required value, rejects its row with the
column and raw text. Merge: the surviving rows go to `<table>_rows`, the days the file covers to
`coverage_days`. Anything that fails rolls the whole file back.

Most files are small, and DuckDB takes longer to plan their SQL than to run it (issue 16): a
small file's typed values are computed once, into a table every check reads; its dates are cast
by the branches of the date parser its values need; values are trimmed only when one may start
or end with a space; and it runs on one thread. tests/test_fast_import.py holds each shortcut to
the general path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb

from recoup import clock
from recoup.ingest.decode import MAX_LINE_BYTES, MAX_VALUE_BYTES, Layout, LineReject, Normalised
from recoup.ingest.errors import FileProblem
from recoup.reports import DATED_TABLES
from recoup.reports.base import Column, DayBased
from recoup.reports.casts import (
    KIND_WORDS,
    NULL_TEXTS,
    SQL_TYPES,
    FileStyle,
    cast_sql,
    clean,
    date_branch_probe,
    number_text,
    plain_slash_date,
)
from recoup.reports.marketplaces import currency_sql, marketplace_sql
from recoup.sql import quoted, run

YEARS_BEFORE = 3  # a row dated further before the account's other data is a reject
# A file of at most this many records is small: planning its SQL costs more than running it.
# Its typed values are computed once, into a temporary table every later step reads (a larger
# file casts as it goes, with no second copy of its rows in memory), and DuckDB runs its
# statements on one thread, without searching them for common subexpressions: handing tiny tasks
# between threads, and that search through the casts, cost more than they save.
SMALL_FILE_RECORDS = 100_000
# The most times a reshaped report may read its typed rows through a view (`_rows_kind`).
VIEW_READS = 3
SMALL_FILE_SETTINGS = {"threads": "1", "disabled_optimizers": "common_subexpressions"}
# DuckDB's line limit: the longest line decoding lets through, and the number before it.
DUCKDB_LINE_BYTES = MAX_LINE_BYTES + 1024


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


class Tuning:
    """DuckDB's settings for the file being loaded: SMALL_FILE_SETTINGS while a small one is.

    Kept from one small file to the next (setting the threads starts or stops threads), and put
    back as they were by `restore()`, which the importer calls once it is done.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.saved: dict[str, str] = {}  # the settings as they were, while changed

    def file(self, records: int) -> None:
        small = records <= SMALL_FILE_RECORDS
        if small and not self.saved and SMALL_FILE_SETTINGS:
            names = list(SMALL_FILE_SETTINGS)
            found = self.con.execute(
                f"SELECT {', '.join(f'current_setting({quoted(k)})' for k in names)}"
            ).fetchone()
            assert found is not None
            self.saved = {k: str(v) for k, v in zip(names, found, strict=True)}
            self._set(SMALL_FILE_SETTINGS)
        elif not small:
            self.restore()

    def restore(self) -> None:
        saved, self.saved = self.saved, {}
        if saved:  # called on the way out of a failure too: never hide it
            with contextlib.suppress(duckdb.Error):
                self._set(saved)

    def _set(self, settings: dict[str, str]) -> None:
        self.con.execute("; ".join(f"SET {k} = {quoted(v)}" for k, v in settings.items()))


class FileLoader:
    """Loads one file in two steps.

    `stage()` reads the normalised copy into temporary tables outside any transaction (DuckDB
    reads temporary tables created inside a transaction much more slowly), and detects the
    file's style and its typed values there. `load(file_id)` runs inside the caller's
    transaction and writes only there. `close()` drops what is left.
    """

    _serial = 0

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        layout: Layout,
        *,
        name: str,
        account: str,
        marketplace: str | None,
        on_phase: Callable[[str], None] | None = None,
        tuning: Tuning | None = None,
    ) -> None:
        self.con = con
        # The importer's, kept between files; else the loader's own, put back by close().
        self.tuning = tuning or Tuning(con)
        self.own_tuning = tuning is None
        self.on_phase = on_phase or (lambda _: None)
        self.layout = layout
        self.report = layout.report
        self.name = name
        self.account = account
        self.marketplace = marketplace
        self.file_id = 0  # known once registered, inside the transaction
        self.located = self.report.locate(layout.normalised)
        FileLoader._serial += 1
        token = FileLoader._serial
        self.base = f"stage_{token}"  # the stage: a table, or a view of `{base}_data`
        self.staged = self.base  # what the checks read: the stage, or the computed values
        self.short_rows = f"short_rows_{token}"
        self.scanned = f"scanned_{token}"
        self.rows = f"typed_{token}"
        self.bad = f"bad_{token}"
        self.cast = f"cast_{token}"
        self.created: list[tuple[str, str]] = []  # temporary objects close() drops
        self.short = 0  # records DuckDB could not split into the header's fields
        self.rejected = 0  # rejects stored for this file so far
        self.cast_once = False  # `self.staged` holds the computed values (`_cast`)
        self.counted: tuple[int, object, object] = (0, None, None)
        self.style = FileStyle()
        self.values: dict[str, str] = {}  # the typed SQL value of each column (`_values`)
        self.warnings: list[str] = []  # found while loading; stored with the report's checks
        self.set_aside: tuple[LineReject, ...] = ()  # lines decoding left out of the copy
        self.may_hold_long_values = False

    def load(self, file_id: int) -> Loaded:
        self.file_id = file_id
        self._duplicate_columns()
        self._reject_set_aside()
        self._reject_short_rows()
        self._reject_long_values()
        values = self.values
        self.on_phase("checking every value")
        self._reject_unreadable(values)
        self._reject_out_of_range(values)
        kept = self._kept()
        self._define_rows(values, kept, self._fallback_marketplace(values, kept))
        self.on_phase("storing the rows")
        self._insert()
        warnings = self._check()
        return self._finish(warnings)

    def close(self) -> None:
        created, self.created = self.created, []
        drops = [f"DROP {kind} IF EXISTS {name}" for kind, name in reversed(created)]
        try:
            if drops:
                self.con.execute("; ".join(drops))
        except duckdb.Error:
            for drop in drops:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute(drop)
        if self.own_tuning:
            self.tuning.restore()

    def _create(self, kind: str, name: str, sql: str) -> int:
        """Create a temporary table or view (dropped by close()); the rows of a table."""
        self.created.append((kind, name))
        done = self.con.execute(f"CREATE TEMP {kind} {name} AS {sql}").fetchone()
        return int(done[0]) if kind == "TABLE" and done else 0

    def _reject(self, select: str) -> int:
        """Store the rejects a query returns (line, column, raw text, problem); how many."""
        done = self.con.execute(
            f"INSERT INTO rejects SELECT {self.file_id}, * FROM ({select})"
        ).fetchone()
        found = int(done[0]) if done else 0
        self.rejected += found
        return found

    # -- stage -------------------------------------------------------------------------------

    def stage(self, copy: Normalised) -> bool:
        """Read the copy as text. False when an un-numbered copy turns out irregular (DuckDB
        read a different number of records than it has lines): renumber it and stage again."""
        self.on_phase("reading the rows")
        self.tuning.file(copy.lines)
        width = len(self.layout.header)
        columns = {"line_no": "BIGINT"} if copy.numbered else {}
        columns |= {f"c{i}": "VARCHAR" for i in range(width)}
        quote = '"' if self.layout.quoted else ""
        spec = ", ".join(f"{quoted(k)}: {quoted(v)}" for k, v in columns.items())
        # Cleaned once here: the casts refer to each value several times. Only the columns
        # some step reads (all of them when a value may be too long to store), and only when a
        # value may start or end with a space: otherwise cleaning changes nothing.
        needed = range(width) if copy.long_lines else self._read_columns()
        cleaned = ", ".join(f"{clean(f'c{i}')} AS c{i}" if copy.padded else f"c{i}" for i in needed)
        target = self.base if copy.numbered else f"{self.base}_data"
        try:
            read = self._read(copy, target, cleaned, spec, quote)
        except (duckdb.InvalidInputException, duckdb.ConversionException) as error:
            # DuckDB's CSV reader gives up on some irregular files (mixed CRLF and LF line
            # ends, for one): the numbered copy, written line by line, reads them all.
            self.close()
            if copy.numbered and isinstance(error, duckdb.InvalidInputException):
                raise FileProblem(self.name, f"cannot be read as a table: {error}") from None
            if copy.numbered:
                raise
            return False
        self.set_aside = copy.rejects
        self.may_hold_long_values = copy.long_lines
        if copy.numbered:
            self._check_every_record_read(copy, target)
        elif read != copy.lines:  # a line DuckDB could not split raised an error instead
            self.close()
            return False
        self._cast(copy, target)
        return True

    def _read_columns(self) -> list[int]:
        """The staged columns some step reads: those located, and the later copies of a located
        column the header prints twice (`_duplicate_columns` compares them)."""
        located = set(self.located.values())
        names = self.layout.normalised
        return [
            i
            for i, name in enumerate(names)
            if i in located or (name and names.index(name) in located)
        ]

    def _read(self, copy: Normalised, target: str, cleaned: str, spec: str, quote: str) -> int:
        """Read the copy into `target`; the number of rows. A numbered copy's lines that do not
        split into the header's fields go to the rejects tables; in an un-numbered copy they
        raise an error (it is renumbered and read again)."""
        rejects = ""
        if copy.numbered:
            # DuckDB creates the rejects tables when it reads.
            self.created += [("TABLE", self.short_rows), ("TABLE", self.scanned)]
            rejects = (
                f"store_rejects=true, rejects_table='{self.short_rows}', "
                f"rejects_scan='{self.scanned}',"
            )
        return self._create(
            "TABLE",
            target,
            f"""SELECT {"line_no, " if copy.numbered else ""}{cleaned} FROM read_csv(
                {quoted(str(copy.path))}, delim={quoted(self.layout.delimiter)},
                quote={quoted(quote)}, escape={quoted(quote)}, header=false, skip={copy.skip},
                auto_detect=false, columns={{{spec}}}, {rejects}
                max_line_size={DUCKDB_LINE_BYTES}, buffer_size={2 * DUCKDB_LINE_BYTES},
                nullstr={NULL_TEXTS}, null_padding=false, parallel=true)""",
        )

    def _check_every_record_read(self, copy: Normalised, target: str) -> None:
        """Each record of a numbered copy is a row or a reject: DuckDB drops a line longer than
        its buffer without a word, and decoding must have kept every such line out."""
        read = self.con.execute(
            f"SELECT (SELECT count(*) FROM {target}), "
            f"(SELECT count(DISTINCT line) FROM {self.short_rows}), "
            f"(SELECT count(*) FROM {self.short_rows})"
        ).fetchone()
        assert read is not None
        self.short = int(read[2])
        if read[0] + read[1] != copy.lines:
            found = read[0] + read[1]
            raise FileProblem(
                self.name,
                f"only {found} of its {copy.lines} records could be read: none is imported",
            )

    def _reject_set_aside(self) -> None:
        """The lines decoding left out of the copy (undecodable, too long) are rejects."""
        if not self.set_aside:
            return
        rows = [(self.file_id, r.line, r.column, r.raw_text, r.problem) for r in self.set_aside]
        insert_rows(self.con, "rejects", rows)
        self.rejected += len(rows)

    def _reject_long_values(self) -> None:
        """A row holding a value longer than MAX_VALUE_BYTES is a reject, named by the value's
        column and start (only a copy with a line that long can hold one: most are not scanned)."""
        if not self.may_hold_long_values:
            return
        header, limit = self.layout.header, MAX_VALUE_BYTES
        first = " ".join(f"WHEN strlen(c{i}) > {limit} THEN {i}" for i in range(len(header)))
        names = " ".join(f"WHEN {i} THEN {quoted(h)}" for i, h in enumerate(header))
        starts = " ".join(f"WHEN {i} THEN left(c{i}, 100)" for i in range(len(header)))
        problem = quoted(f"a value longer than {MAX_VALUE_BYTES >> 20} MB")
        self._reject(
            f"""SELECT line_no, CASE i {names} END, (CASE i {starts} END) || '…', {problem}
            FROM (SELECT *, CASE {first} END AS i FROM {self.staged}) WHERE i IS NOT NULL"""
        )

    def _duplicate_columns(self) -> None:
        """A warning for each column the header prints twice.

        recoup reads the first. When it reads that column and the two differ in a row, the file
        is refused: which one the seller's other tools read is unknown, and reading the wrong
        one would store a wrong SKU or amount without a word. Equal copies, or a column recoup
        does not read, only warn.
        """
        warnings = []
        first_seen: dict[str, int] = {}
        read = set(self.located.values())
        for index, name in enumerate(self.layout.normalised):
            first = first_seen.setdefault(name, index)
            if not name or first == index:
                continue
            twice = (
                f'the column "{self.layout.header[first]}" appears twice '
                f"(columns {first + 1} and {index + 1})"
            )
            if first not in read:
                warnings.append(f"line {self.layout.header_line}: {twice}; recoup does not read it")
                continue
            differ = self.con.execute(
                f"SELECT line_no, c{first}, c{index} FROM {self.staged} "
                f"WHERE c{first} IS DISTINCT FROM c{index} ORDER BY line_no LIMIT 1"
            ).fetchone()
            if differ is not None:
                shown = ", ".join("empty" if v is None else str(v) for v in differ[1:])
                raise FileProblem(
                    self.name,
                    f"{twice} and the two differ ({shown}): recoup cannot tell which is right",
                    int(differ[0]),
                )
            warnings.append(
                f"line {self.layout.header_line}: {twice}; recoup read column {first + 1}"
            )
        self.warnings += warnings

    def _reject_short_rows(self) -> None:
        if not self.short:
            return
        names = " ".join(f"WHEN 'c{i}' THEN {quoted(h)}" for i, h in enumerate(self.layout.header))
        d = quoted(self.layout.delimiter)
        # DuckDB reports a short row once per missing column: one reject per line is enough.
        self._reject(
            f"""SELECT TRY_CAST(split_part(csv_line, {d}, 1) AS BIGINT),
                   CASE column_name {names} ELSE NULL END, raw,
                   coalesce(
                       CASE error_type WHEN 'MISSING COLUMNS' THEN 'too few fields'
                                       WHEN 'TOO MANY COLUMNS' THEN 'too many fields'
                                       ELSE lower(CAST(error_type AS VARCHAR)) END
                       || format(' (found {{}}, expected {len(self.layout.header)})',
                                 length(raw) - length(replace(raw, {d}, '')) + 1),
                       lower(CAST(error_type AS VARCHAR)), 'cannot be read')
            FROM (SELECT csv_line, substr(csv_line, strpos(csv_line, {d}) + 1) AS raw,
                         arg_min(column_name, column_idx) AS column_name,
                         arg_min(error_type, column_idx) AS error_type
                  FROM {self.short_rows} GROUP BY csv_line, line)"""
        )

    def _text(self, column: Column) -> str:
        """The staged column holding this canonical column's (cleaned) text."""
        return f"c{self.located[column.name]}"

    def _style(self) -> FileStyle:
        """Detect how this file writes numbers and slashed dates, which branches of the date
        parser each date column needs, and which date columns hold nothing but plain slashed
        dates (cast without the general date parser).

        One scan, and a second only when some date column holds a date that is not ISO: the
        day-first test and the plain-slash test cannot be true of ISO dates, and a file with
        only ISO dates has no slashed date to order.
        """
        probes: list[str] = []
        decimals = [
            self._text(c)
            for c in self.report.columns
            if c.kind in ("decimal", "measure") and c.name in self.located
        ]
        localised = self.report.localised_numbers and bool(decimals)
        if localised:
            probes.append(
                "bool_or("
                + " OR ".join(
                    f"regexp_full_match({t}, '[+-]?[0-9.\\s\u00a0\u202f]*[0-9],[0-9]{{1,2}}')"
                    for t in decimals
                )
                + ")"
            )
        dates = sorted(
            {
                self._text(c)
                for c in self.report.columns
                if c.kind == "date" and c.name in self.located
            }
        )
        probes += [date_branch_probe(t) for t in dates]
        if not probes:
            return FileStyle()
        found = self.con.execute(f"SELECT {', '.join(probes)} FROM {self.staged}").fetchone()
        assert found is not None
        answers = list(found)
        numbers = ("comma" if answers.pop(0) else "dot") if localised else "plain"
        taken = tuple((t, int(b or 0)) for t, b in zip(dates, answers, strict=True))
        others = [t for t, branches in taken if branches & ~1]
        if not others:
            return FileStyle(numbers=numbers, date_branches=taken)  # type: ignore[arg-type]
        probes = [
            "bool_or("
            + " OR ".join(
                f"regexp_full_match(split_part({t}, ' ', 1), "
                f"'(1[3-9]|2[0-9]|3[01])/[0-9]{{1,2}}/[0-9]{{2,4}}')"
                for t in others
            )
            + ")"
        ]
        probes += [f"bool_and({t} IS NULL OR {plain_slash_date(t)})" for t in others]
        found = self.con.execute(f"SELECT {', '.join(probes)} FROM {self.staged}").fetchone()
        assert found is not None
        answers = list(found)
        order = "dmy" if answers.pop(0) else "mdy"
        plain = frozenset(t for t, every in zip(others, answers, strict=True) if every)
        return FileStyle(
            numbers=numbers,  # type: ignore[arg-type]
            slash_order=order,  # type: ignore[arg-type]
            plain_slash_dates=plain,
            date_branches=taken,
        )

    # -- cast --------------------------------------------------------------------------------

    def _cast(self, copy: Normalised, target: str) -> None:
        """The file's style and the typed value of every column (`self.values`), over the stage
        (`self.staged`) with each record's line number (`line_no`).

        For a small file (at most SMALL_FILE_RECORDS records) each value that takes more than a
        cast is computed once, into a temporary table that the later steps read: planning the
        casts in every step would cost more than running them. An un-numbered copy holds one
        record per line, in file order (DuckDB keeps insertion order): line = rowid + first.
        """
        line_no = "" if copy.numbered else f"rowid + {copy.first_line} AS line_no, "
        if copy.lines > SMALL_FILE_RECORDS:
            if not copy.numbered:
                self._create("VIEW", self.base, f"SELECT {line_no}* FROM {target}")
            self.staged = self.base
            self.style = self._style()
            self.values = self._values(self.style)
            return
        self.staged = target  # the style needs no line numbers
        self.style = self._style()
        values = self._values(self.style)
        computed = {
            name: value
            for name, value in values.items()
            if (name == "marketplace" and value != "NULL")
            or (name in self.located and self.report.column(name).kind != "text")
        }
        selects = "".join(f", {value} AS v__{name}" for name, value in computed.items())
        self._create("TABLE", self.cast, f"SELECT {line_no}*{selects} FROM {target}")
        self.staged = self.cast
        self.cast_once = True
        self.values = values | {name: f"v__{name}" for name in computed}

    def _checked(self, column: Column) -> bool:
        return column.name in self.located and (column.kind != "text" or column.not_null)

    def _values(self, style: FileStyle) -> dict[str, str]:
        """The typed SQL expression of every canonical column (and of the row's marketplace)."""
        sources = [
            (marketplace_sql if s.read_as == "marketplace" else currency_sql)(
                self._text(self.report.column(s.column))
            )
            for s in self.report.marketplace_from
            if s.column in self.located
        ]
        values = {"marketplace": f"coalesce({', '.join(sources)})" if sources else "NULL"}
        for column in self.report.columns:
            value = (
                cast_sql(column.kind, self._text(column), style, self.report.localised_numbers)
                if column.name in self.located
                else "NULL"
            )
            values[column.name] = f"CAST({value} AS {SQL_TYPES[column.kind]})"
        return values

    def _reject_unreadable(self, values: dict[str, str]) -> None:
        """Reject rows with a present value that cannot be read or a missing required one.

        One scan finds the (usually few) bad rows; the per-column reasons come from those only.
        """
        checked = [c for c in self.report.columns if self._checked(c)]
        if not checked:
            return
        tests = []
        selects = ["line_no"]
        for column in checked:
            raw, value = self._text(column), values[column.name]
            selects += [f"{raw} AS raw__{column.name}", f"{value} AS {column.name}"]
            if column.kind != "text":
                tests.append(f"({raw} IS NOT NULL AND {value} IS NULL)")
            if column.not_null:
                tests.append(f"{raw} IS NULL")
        bad = self.bad
        if not self._create(
            "TABLE",
            bad,
            f"SELECT {', '.join(selects)} FROM {self.staged} WHERE {' OR '.join(tests)}",
        ):
            return
        reasons = []
        for column in checked:
            header = quoted(self.layout.header[self.located[column.name]])
            raw = f"raw__{column.name}"
            if column.kind != "text":
                problem = quoted(f"cannot be read as {KIND_WORDS[column.kind]}")
                reasons.append(
                    f"SELECT line_no, {header}, {raw}, {problem} FROM {bad} "
                    f"WHERE {raw} IS NOT NULL AND {column.name} IS NULL"
                )
            if column.not_null:
                reasons.append(
                    f"SELECT line_no, {header}, NULL, 'missing value' FROM {bad} "
                    f"WHERE {raw} IS NULL"
                )
        self._reject(" UNION ALL ".join(reasons))

    def _reject_out_of_range(self, values: dict[str, str]) -> None:
        """Reject what no report holds: a negative count or cost where amazon-reports.md has
        none, and a date after the import day or far before the account's other data (one row
        dated 1970 must not stretch what a file covers over the years of other files). Amounts
        with more than two decimals are stored to the cent, with a warning."""
        reasons = []
        for column in self.report.columns:
            if column.name not in self.located:
                continue
            raw, value = self._text(column), values[column.name]
            header = quoted(self.layout.header[self.located[column.name]])
            if column.never_negative:
                reasons.append(f"SELECT line_no, {header}, {raw}, 'cannot be negative' "
                               f"FROM {self.staged} WHERE {value} < 0")  # fmt: skip
        self._warn_rounded()
        date = self.report.date_column
        if date in self.located and self.report.table in DATED_TABLES:
            reasons += self._implausible_dates(self.report.column(date), values[date])
        if reasons:
            self._reject(" UNION ALL ".join(reasons))

    def _implausible_dates(self, column: Column, value: str) -> list[str]:
        today = clock.today()
        latest = today + dt.timedelta(days=1)  # Amazon's Pacific or UTC day may be tomorrow
        found = run(
            self.con,
            f"SELECT (SELECT quantile_disc({value}, 0.5) FROM {self.staged}), "
            f"(SELECT min(first_date) FROM source_files WHERE account = ? AND file_id <> ? "
            f"AND canonical IN ({', '.join(map(quoted, DATED_TABLES))}))",
            [self.account, self.file_id],
        ).fetchone()
        known = [d for d in found or () if isinstance(d, dt.date)]
        if not known:
            return []
        start: dt.date = min(known)
        floor = start.replace(year=start.year - YEARS_BEFORE, day=min(start.day, 28))
        raw = self._text(column)
        header = quoted(self.layout.header[self.located[column.name]])
        return [
            f"SELECT line_no, {header}, {raw}, 'dated ' || CAST({value} AS VARCHAR) || "
            f"', after the import day ({today})' FROM {self.staged} "
            f"WHERE {value} > DATE '{latest}'",
            f"SELECT line_no, {header}, {raw}, 'dated ' || CAST({value} AS VARCHAR) || "
            f"', more than {YEARS_BEFORE} years before this account''s other reports (from "
            f"{start})' FROM {self.staged} WHERE {value} < DATE '{floor}'",
        ]

    def _warn_rounded(self) -> None:
        """Amounts are stored to the cent; a finer value is rounded, and the file says so (one
        scan for every amount column)."""
        columns = [c for c in self.report.columns if c.kind == "decimal" and c.name in self.located]
        if not columns:
            return
        numbers = self.style.numbers if self.report.localised_numbers else "plain"
        tests, parts = [], []
        for i, column in enumerate(columns):
            raw = self._text(column)
            text = number_text(raw, numbers)
            # Written once per column: the SQL of a small file costs more to plan than to run.
            # Reading text as DECIMAL(38,10) is slow; only a value with three characters after
            # a point, or an exponent, can hold more than two decimals.
            tests.append(
                f"CASE WHEN {text} LIKE '%.___%' OR {text} ILIKE '%e%' THEN "
                f"TRY_CAST({text} AS DECIMAL(38,10)) <> TRY_CAST({text} AS DECIMAL(18,2)) "
                f"END AS finer{i}"
            )
            parts += [f"count(*) FILTER (finer{i})", f"arg_min({raw}, line_no) FILTER (finer{i})",
                      f"min(line_no) FILTER (finer{i})"]  # fmt: skip
        found = self.con.execute(
            f"SELECT {', '.join(parts)} FROM (SELECT *, {', '.join(tests)} FROM {self.staged})"
        ).fetchone()
        assert found is not None
        for i, column in enumerate(columns):
            count, example, line = found[3 * i : 3 * i + 3]
            if count:
                header = self.layout.header[self.located[column.name]]
                self.warnings.append(
                    f"line {line}, column {header}: {example} has more than two decimals and is "
                    f"stored rounded to the cent ({count} value(s) in this column)"
                )

    def _kept(self) -> str:
        """The staged rows that were not rejected (a table name or a subquery)."""
        if not self.rejected:
            return self.staged
        return (
            f"(SELECT * FROM {self.staged} WHERE line_no NOT IN "
            f"(SELECT line FROM rejects WHERE file_id = {self.file_id}))"
        )

    # -- marketplace -------------------------------------------------------------------------

    def _fallback_marketplace(self, values: dict[str, str], kept: str) -> str | None:
        """For rows that do not name one: the file's usual marketplace, else --marketplace.

        A FileProblem when some rows name none and neither settles it.
        """
        if values["marketplace"] == "NULL":
            named: list[tuple[str | None, int, int]] = []
            if self.marketplace is None:
                first = self.con.execute(
                    f"SELECT NULL, count(*), min(line_no) FROM {kept}"
                ).fetchall()
                named = [(None, int(first[0][1]), first[0][2])] if first[0][1] else []
        else:
            named = self.con.execute(
                f"SELECT m, count(*), min(line_no) FROM "
                f"(SELECT {values['marketplace']} AS m, line_no FROM {kept}) GROUP BY m"
            ).fetchall()
        known = sorted((-n, m) for m, n, _ in named if m is not None)
        fallback = known[0][1] if known else self.marketplace
        unknown = [(n, line) for m, n, line in named if m is None]
        if fallback is None and unknown:
            raise FileProblem(
                self.name,
                f"the {self.report.title} does not say which marketplace its {unknown[0][0]} "
                "row(s) belong to; name it (recoup import --marketplace US, or the marketplace "
                "choice when uploading in the dashboard)",
                int(unknown[0][1]),
            )
        return fallback

    def _define_rows(self, values: dict[str, str], kept: str, fallback: str | None) -> None:
        """The typed rows, as a view over the stage (a table for reports reshaped on insert,
        which read them several times, unless the values are computed already)."""
        market = values["marketplace"]
        if fallback is not None:
            market = f"coalesce({market}, {quoted(fallback)})"
        selects = [
            f"{quoted(self.account)} AS account",
            f"CAST({market} AS VARCHAR) AS marketplace",
            f"{self.file_id} AS file_id",
            "line_no AS line",
            *(f"{values[c.name]} AS {c.name}" for c in self.report.columns),
        ]
        self._create(self._rows_kind(), self.rows, f"SELECT {', '.join(selects)} FROM {kept}")

    def _rows_kind(self) -> str:
        """A view, computed as the insert reads it, unless the report's shape reads the rows so
        often that casting every value each time costs more than keeping a typed copy (a V1
        settlement: once per amount column). For a 970k-line V2 settlement, read by its lines and
        its one summary row, the copy cost 1.4 s of 5.1 and 180 MB more."""
        if self.report.shape is None or self.cast_once:
            return "VIEW"
        reads = sum(select.count(self.rows) for _, select in self.report.shape(self.rows))
        return "VIEW" if reads <= VIEW_READS else "TABLE"

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
        inserted -= self._take_out_unusable([table for table, _ in targets])
        self.counted = (inserted, *self._period())

    def _take_out_unusable(self, tables: list[str]) -> int:
        """Lines the report declares unusable become rejects and leave the stored rows; the
        number taken out of the main table."""
        if self.report.unusable is None:
            return 0
        if not self._reject(self.report.unusable(self.rows)):
            return 0
        taken = 0
        for table in tables:
            done = self.con.execute(
                f"DELETE FROM {table}_rows WHERE file_id = {self.file_id} AND line IN "
                f"(SELECT line FROM rejects WHERE file_id = {self.file_id})"
            ).fetchone()
            if table == self.report.table and done is not None:
                taken = int(done[0])
        return taken

    def _period(self) -> tuple[object, object]:
        """First and last date of the file; for day-based reports, the days it covers."""
        merge = self.report.merge
        if self.report.date_column is None and not isinstance(merge, DayBased):
            return None, None
        date = self.report.date_column or "NULL"
        # Read back from the stored rows where they are stored as declared: no second cast.
        source = (
            f"(SELECT * FROM {self.report.table}_rows WHERE file_id = {self.file_id})"
            if self.report.shape is None
            else self.rows
        )
        day = merge.day_column if isinstance(merge, DayBased) else date
        spans = self.con.execute(
            f"SELECT account, marketplace, min({day}), max({day}), min({date}), max({date}) "
            f"FROM {source} GROUP BY ALL"
        ).fetchall()
        if isinstance(merge, DayBased):
            # The days the file has rows on, not first to last: one stray date (1970) must not
            # take years of other files' days. A stated or synced period adds its days
            # (ingest.Covered), so an empty day it states wins over older rows.
            self.con.execute(
                f"INSERT INTO coverage_days SELECT DISTINCT '{self.report.table}', account, "
                f"marketplace, CAST({day} AS DATE), {self.file_id} FROM {source} "
                f"WHERE {day} IS NOT NULL"
            )
        firsts = [s[4] for s in spans if s[4] is not None]
        lasts = [s[5] for s in spans if s[5] is not None]
        return (min(firsts) if firsts else None, max(lasts) if lasts else None)

    def _check(self) -> list[str]:
        warnings = list(self.warnings)
        if self.report.check is not None:
            found = self.con.execute(self.report.check(self.file_id)).fetchall()
            warnings += [str(row[0]) for row in found]
        insert_rows(self.con, "import_warnings", [(self.file_id, w) for w in warnings])
        return warnings

    def _finish(self, warnings: list[str]) -> Loaded:
        counted = self.counted
        rejected = (
            run(
                self.con,
                "SELECT line, column_name, raw_text, problem FROM rejects WHERE file_id = ? "
                "ORDER BY line NULLS FIRST",
                [self.file_id],
            ).fetchall()
            if self.rejected
            else []
        )
        run(
            self.con,
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


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[object]]
) -> None:
    """Insert rows of values in one statement, bound as literals (`recoup.sql`: a Python
    parameter makes DuckDB import pandas), or as parameters when text holds a NUL character,
    which a literal cannot."""
    if not rows:
        return
    marks = ", ".join(["(" + ", ".join("?" * len(rows[0])) + ")"] * len(rows))
    if any(isinstance(v, str) and "\x00" in v for row in rows for v in row):
        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    else:
        run(con, f"INSERT INTO {table} VALUES {marks}", [v for row in rows for v in row])


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
    row = run(
        con,
        "INSERT INTO source_files VALUES (nextval('source_file_ids'), ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, 0, 0, NULL, NULL, now()) RETURNING file_id",
        [
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
    ).fetchone()
    assert row is not None
    return int(row[0])
