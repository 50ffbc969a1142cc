"""SQL expressions that turn staged text into typed values, per value kind and file style.

Everything is staged as text first; these expressions cast it in DuckDB. A value that is present
but cannot be read casts to NULL, which the loader turns into a reject naming the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from recoup.reports.base import Kind

NumberStyle = Literal["plain", "dot", "comma"]
SlashOrder = Literal["mdy", "dmy"]

# Month names and abbreviations as localised Date Range reports print them (UK `Sept`,
# FR `janv.`/`juil.`, DE `Mär`/`Mrz`, IT `gen`, ES `ene`, NL `mrt`); matched after lower-casing
# and dropping a trailing dot.
MONTHS: dict[str, int] = {}
for number, names in enumerate(
    [
        "jan january janv janvier januar jän gen gennaio ene enero januari",
        "feb february févr fevr février februar febbraio febrero februari",
        "mar march mars mär märz mrz marzo maart mrt",
        "apr april avr avril aprile abr abril",
        "may mai mag maggio mayo mei",
        "jun june juin juni giu giugno junio",
        "jul july juil juillet juli lug luglio julio",
        "aug august août aout ago agosto augustus",
        "sep sept september septembre set settembre septiembre",
        "oct october okt oktober ott ottobre octubre",
        "nov november novembre noviembre",
        "dec december déc decembre décembre dez dezember dic dicembre diciembre",
    ],
    start=1,
):
    for name in names.split():
        MONTHS[name] = number


def clean(raw: str) -> str:
    """Trimmed text; empty and `--` (Amazon's "not applicable") become NULL.

    For text read with `nullstr=['', '--']` (which already nulls the exact values): most values
    have no surrounding spaces, and testing for them is much cheaper than trimming every value.
    """
    return (
        f"CASE WHEN {raw} LIKE ' %' OR {raw} LIKE '% ' "
        f"THEN NULLIF(NULLIF(trim({raw}), ''), '--') ELSE {raw} END"
    )


NULL_TEXTS = "['', '--']"


@dataclass(frozen=True)
class FileStyle:
    """How one file writes numbers and slashed dates (detected per file, never assumed)."""

    numbers: NumberStyle = "plain"
    slash_order: SlashOrder = "mdy"
    # Staged columns whose every value is a plain slashed date (`plain_slash_date`): their cast
    # is one strptime, which is what `date_sql` does for such values anyway.
    plain_slash_dates: frozenset[str] = frozenset()
    # Staged date columns -> which branches of the general date parser their values take
    # (`date_branch_probe`, bit i: branch i): the cast keeps only those. The same values, and
    # much cheaper SQL to plan: most files print one kind of date.
    date_branches: tuple[tuple[str, int], ...] = ()

    def branches(self, t: str) -> int | None:
        """The parser branches the values of staged column `t` take (None: not known)."""
        return dict(self.date_branches).get(t)


def _slashed(x: str) -> str:
    """`x` looks like M/D/YYYY or D/M/YYYY (either digit count), tested without regexps."""
    return (
        f"length({x}) BETWEEN 8 AND 10 AND substr({x}, -5, 1) = '/' "
        f"AND (substr({x}, 2, 1) = '/' OR substr({x}, 3, 1) = '/')"
    )


def plain_slash_date(t: str) -> str:
    """`t` is a slashed date alone: `date_sql` reads it by its slashed branch, with no time."""
    return f"({_slashed(t)} AND strpos({t}, ' ') = 0 AND substr({t}, 5, 1) <> '-')"


_MONTH_NAMES = "[" + ", ".join(f"'{name}'" for name in MONTHS) + "]"
_MONTH_NUMBERS = "[" + ", ".join(str(number) for number in MONTHS.values()) + "]"


def _month_number(token: str) -> str:
    # Two list constants rather than a CASE of a hundred branches: the SQL binds much faster,
    # which matters for small files with several date columns (settlements).
    return f"{_MONTH_NUMBERS}[list_position({_MONTH_NAMES}, rtrim(lower({token}), '.'))]"


def _date_branches(t: str, style: FileStyle) -> list[tuple[str | None, str]]:
    """The general date parser, branch by branch in the order tried: (condition, value); the
    last one has no condition (what no other branch reads)."""
    first = f"split_part({t}, ' ', 1)"
    slash4 = "%m/%d/%Y" if style.slash_order == "mdy" else "%d/%m/%Y"
    slash2 = "%m/%d/%y" if style.slash_order == "mdy" else "%d/%m/%y"
    us = r"^([^\d\s,]+)\.? (\d{1,2}),? (\d{4})"  # Sep 4, 2026 1:05:07 AM PDT
    eu = r"^(\d{1,2})\.? ([^\d\s,]+)\.? (\d{4})"  # 1 Sept 2025 03:28:04 UTC; 1 juil. 2025

    def part(pattern: str, group: int) -> str:
        return f"regexp_extract({t}, '{pattern}', {group})"

    def made(pattern: str, y: int, m: int, d: int) -> str:
        year = f"try_cast({part(pattern, y)} AS INTEGER)"
        days = f"try_cast({part(pattern, d)} AS INTEGER)"
        return (
            f"try_cast(make_date({year}, {_month_number(part(pattern, m))}, {days}) AS TIMESTAMP)"
        )

    return [
        (f"substr({t}, 5, 1) = '-'", f"try_strptime(left({t}, 10), '%Y-%m-%d')"),
        # MM/DD/YYYY (the ledger) without a regular expression: cheap string tests only.
        (_slashed(first), f"try_strptime({first}, '{slash4}')"),
        (
            f"regexp_full_match({first}, '\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{4}}')",
            f"try_strptime({first}, '%d.%m.%Y')",
        ),
        (f"regexp_full_match({first}, '\\d{{1,2}}/\\d{{4}}')", f"try_strptime({first}, '%m/%Y')"),
        (
            f"regexp_full_match({first}, '\\d{{1,2}}/\\d{{1,2}}/\\d{{2}}')",
            f"try_strptime({first}, '{slash2}')",
        ),
        (f"substr({t}, 5, 1) = '/'", f"try_strptime({first}, '%Y/%m/%d')"),
        (None, f"coalesce({made(us, 3, 1, 2)}, {made(eu, 3, 2, 1)})"),
    ]


def date_branch_probe(t: str) -> str:
    """An aggregate over staged column `t` for `FileStyle.date_branches`: bit i set when some
    value may take branch i of the general date parser. Only the first (ISO) branch is told
    apart, the cheapest test: any other value may take any later branch. 0 or NULL: every
    value is NULL."""
    branches = _date_branches(t, FileStyle())  # the conditions do not depend on the style
    iso, _ = branches[0]
    later = sum(1 << i for i in range(1, len(branches)))
    return f"bit_or(CASE WHEN {t} IS NULL THEN 0 WHEN {iso} THEN 1 ELSE {later} END)"


def date_sql(t: str, style: FileStyle) -> str:
    """A DATE from any date or timestamp Amazon prints; the calendar date as printed.

    ISO timestamps keep the part before `T` (audit-rules principle 4), so a time zone offset
    never moves an event to another day. When the file's values are known to take only some
    branches of the parser (`FileStyle.date_branches`), the others are left out: each value
    still meets the same first matching condition, so it reads the same.
    """
    if t in style.plain_slash_dates:
        slash4 = "%m/%d/%Y" if style.slash_order == "mdy" else "%d/%m/%Y"
        return f"CAST(try_strptime({t}, '{slash4}') AS DATE)"
    branches = _date_branches(t, style)
    used = style.branches(t)
    if used is not None:
        branches = [b for i, b in enumerate(branches) if used >> i & 1]
    whens = " ".join(
        f"WHEN {condition} THEN {value}" for condition, value in branches if condition is not None
    )
    otherwise = "".join(f" ELSE {value}" for condition, value in branches if condition is None)
    return f"CAST(CASE WHEN {t} IS NULL THEN NULL {whens}{otherwise} END AS DATE)"


def number_text(t: str, style: NumberStyle) -> str:
    if style == "dot":  # 1,234.56 (US/UK Date Range)
        return f"replace({t}, ',', '')"
    if style == "comma":  # 1.234,56 (DE), 1 234,56 with a no-break space (FR), 179,99
        return f"replace(regexp_replace({t}, '[.\\s\u00a0\u202f'']', '', 'g'), ',', '.')"
    return t  # SP-API flat files: `.` decimals, no thousands separator


def cast_sql(kind: Kind, t: str, style: FileStyle, localised: bool) -> str:
    """The typed value of cleaned text `t`; NULL when present but unreadable."""
    numbers: NumberStyle = style.numbers if localised else "plain"
    if kind == "text":
        return t
    if kind == "date":
        return date_sql(t, style)
    if kind == "decimal":
        return f"TRY_CAST({number_text(t, numbers)} AS DECIMAL(18,2))"
    if kind == "measure":
        return f"TRY_CAST({number_text(t, numbers)} AS DOUBLE)"
    if kind == "int":
        n = number_text(t, numbers)
        # Only whole numbers: a cast alone would silently round `1.5` to 2.
        return (
            f"CASE WHEN TRY_CAST({n} AS BIGINT) = TRY_CAST({n} AS DOUBLE) "
            f"THEN TRY_CAST({n} AS BIGINT) END"
        )
    if kind == "bool":
        return (
            f"CASE lower({t}) WHEN 'yes' THEN TRUE WHEN 'true' THEN TRUE WHEN 'y' THEN TRUE "
            f"WHEN 'no' THEN FALSE WHEN 'false' THEN FALSE WHEN 'n' THEN FALSE END"
        )
    raise ValueError(kind)


SQL_TYPES: dict[Kind, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "measure": "DOUBLE",
    "date": "DATE",
    "bool": "BOOLEAN",
}

KIND_WORDS: dict[Kind, str] = {
    "text": "text",
    "int": "a whole number",
    "decimal": "an amount",
    "measure": "a number",
    "date": "a date",
    "bool": "yes/no",
}
