"""`recoup import`: detect -> decode -> stage -> cast -> merge, atomically per file."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from duckdb import DuckDBPyConnection

from recoup import coverage, interrupts
from recoup.ingest.decode import (
    Layout,
    Normalised,
    Undecodable,
    detect,
    json_to_tsv,
    next_encoding,
    number_lines,
    transcribe,
)
from recoup.ingest.errors import FileProblem
from recoup.ingest.files import Incoming, expand
from recoup.ingest.load import FileLoader, Tuning, register
from recoup.ingest.rawstore import copy_in
from recoup.reports import DATED_TABLES, by_table
from recoup.reports.base import DayBased
from recoup.sql import run
from recoup.workspace import Workspace


class Reporter(Protocol):
    """Progress for one file at a time (a Rich progress bar in the CLI, silence in tests)."""

    def file_started(self, name: str, size: int) -> None: ...
    def advance(self, amount: int) -> None: ...
    def phase(self, text: str) -> None: ...
    def file_finished(self) -> None: ...


class Silent:
    def file_started(self, name: str, size: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def phase(self, text: str) -> None:
        pass

    def file_finished(self) -> None:
        pass


@dataclass
class FileResult:
    name: str
    status: Literal["imported", "duplicate", "failed"]
    file_id: int | None = None
    report: str | None = None  # layout id
    table: str | None = None
    encoding: str | None = None
    rows: int = 0
    rejects: int = 0
    first_date: object = None
    last_date: object = None
    marketplaces: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None
    same_as: str | None = None  # for duplicates: the file imported earlier with these bytes
    reject_samples: list[tuple[int | None, str | None, str | None, str]] = field(
        default_factory=list
    )


def import_paths(
    workspace: Workspace,
    paths: Iterable[Path],
    *,
    account: str = "default",
    marketplace: str | None = None,
    reporter: Reporter | None = None,
    declared_encoding: str | None = None,
    name_of: Callable[[Path], str] = str,
    period: coverage.Span | None = None,
    period_basis: str = "stated",
) -> list[FileResult]:
    """Import every report under `paths`; one result per file, in the order read.

    `declared_encoding`: the codec the source named (an SP-API document's charset), tried
    first; a file it cannot decode strictly is detected as usual. `name_of`: the name each file
    is shown and cited by (default: its path as given). `period`: the days the downloads cover
    (stated by the seller, or the window a sync requested: `period_basis`); without it the files
    imported together cover the first to last row date of them all (principle 11)."""
    reporter = reporter or Silent()
    results = []
    covered = Covered(account, marketplace, period, period_basis)
    tuning = Tuning(workspace.con)
    try:
        for item in expand(list(paths), name_of):
            if isinstance(item, FileProblem):
                results.append(FileResult(item.name, "failed", problem=str(item)))
                continue
            try:
                results.append(
                    _import_one(
                        workspace,
                        item,
                        account,
                        marketplace,
                        reporter,
                        declared=declared_encoding,
                        covered=covered,
                        tuning=tuning,
                    )
                )
            except FileProblem as problem:
                results.append(FileResult(item.name, "failed", problem=str(problem)))
            finally:
                reporter.file_finished()
    finally:
        tuning.restore()
    covered.batch(workspace, results)
    return results


@dataclass
class Covered:
    """Records the days each imported file covers (audit-rules.md principle 11)."""

    account: str
    marketplace: str | None
    period: coverage.Span | None
    basis: str

    def file(
        self, con: DuckDBPyConnection, file_id: int, *, table: str, markets: list[str],
        first: object, last: object,
    ) -> None:  # fmt: skip
        """Inside the file's own transaction: the stated or synced period, else its own rows'
        first to last date (what a file imported alone covers); a header-only file without a
        period covers nothing."""
        if table not in DATED_TABLES:
            return
        markets = markets or ([self.marketplace] if self.marketplace else [])
        if self.marketplace and self.marketplace not in markets:
            markets = [*markets, self.marketplace]
        if self.period is not None:
            if not markets:  # a header-only file naming no marketplace: the account's own
                markets = [m for (m,) in run(con,
                    "SELECT DISTINCT marketplace FROM file_coverage WHERE account = ? "
                    "ORDER BY 1", [self.account]).fetchall()]  # fmt: skip
            coverage.record(con, file_id, account=self.account, report=table,
                            marketplaces=markets, span=self.period, basis=self.basis)  # fmt: skip
            self._own_days(con, file_id, table, markets, self.period)
        elif isinstance(first, dt.date) and isinstance(last, dt.date):
            coverage.record(con, file_id, account=self.account, report=table,
                            marketplaces=markets, span=(first, last), basis="rows")  # fmt: skip

    def _own_days(
        self,
        con: DuckDBPyConnection,
        file_id: int,
        table: str,
        markets: list[str],
        period: coverage.Span,
    ) -> None:
        """A day-based report's stated or synced period is its own, rows or not: a newer
        download that says nothing happened on a day wins that day over an older one."""
        if not any(isinstance(r.merge, DayBased) for r in by_table(table)):
            return
        for market in markets:
            run(
                con,
                "INSERT INTO coverage_days SELECT ?, ?, ?, CAST(unnest(generate_series(CAST(? AS "
                "DATE), CAST(? AS DATE), INTERVAL 1 DAY)) AS DATE), ?",
                [table, self.account, market, period[0], period[1], file_id],
            )

    def outside(self, table: str, first: object, last: object) -> str | None:
        """A warning when a file's rows reach beyond the period stated for it (they are
        imported; only the stated days count as covered)."""
        if self.period is None or self.basis != "stated" or table not in DATED_TABLES:
            return None
        if not isinstance(first, dt.date) or not isinstance(last, dt.date):
            return None
        if first >= self.period[0] and last <= self.period[1]:
            return None
        return (
            f"rows dated {first}..{last} reach beyond the stated period "
            f"{self.period[0]}..{self.period[1]}: they are imported, and only the stated days "
            "count as covered"
        )

    def again(self, con: DuckDBPyConnection, file_id: int, table: str) -> None:
        """A file imported before, given again with a stated or synced period."""
        if self.period is None or table not in DATED_TABLES:
            return
        markets = [m for (m,) in run(con,
            "SELECT DISTINCT marketplace FROM file_coverage WHERE file_id = ? ORDER BY 1",
            [file_id]).fetchall()]  # fmt: skip
        con.begin()
        try:
            self.file(con, file_id, table=table, markets=markets, first=None, last=None)
            con.commit()
        except Exception:
            con.rollback()
            raise

    def batch(self, workspace: Workspace, results: list[FileResult]) -> None:
        """Downloads imported together cover the same days: in each marketplace, from the
        earliest to the latest row date of any dated report among them with rows there (a
        German settlement says nothing about the US days)."""
        if self.period is not None:
            return
        by_market: dict[str, list[FileResult]] = {}
        for r in results:
            if (
                r.status == "imported"
                and r.table in DATED_TABLES
                and isinstance(r.first_date, dt.date)
                and isinstance(r.last_date, dt.date)
            ):
                for market in self._markets(r):
                    by_market.setdefault(market, []).append(r)
        con = workspace.con
        con.begin()
        try:
            for market, files in by_market.items():
                span = (
                    min(r.first_date for r in files if isinstance(r.first_date, dt.date)),
                    max(r.last_date for r in files if isinstance(r.last_date, dt.date)),
                )
                for r in files:
                    if (r.first_date, r.last_date) != span:
                        coverage.record(con, r.file_id, account=self.account,
                                        report=str(r.table), marketplaces=[market], span=span,
                                        basis="batch")  # fmt: skip
            con.commit()
        except Exception:
            con.rollback()
            raise

    def _markets(self, result: FileResult) -> list[str]:
        declared = [self.marketplace] if self.marketplace else []
        return list(dict.fromkeys([*result.marketplaces, *declared]))


def _import_one(
    workspace: Workspace,
    incoming: Incoming,
    account: str,
    marketplace: str | None,
    reporter: Reporter,
    *,
    declared: str | None = None,
    covered: Covered,
    tuning: Tuning | None = None,
) -> FileResult:
    size_hint = incoming.origin.stat().st_size if incoming.origin.is_file() else 0
    reporter.file_started(incoming.name, size_hint)
    reporter.phase("copying into the raw store")
    temporary, sha256, size = copy_in(incoming, workspace.raw_dir, reporter.advance)
    con = workspace.con
    earlier = run(
        con,
        "SELECT name, file_id, canonical FROM source_files WHERE account = ? AND sha256 = ?",
        [account, sha256],
    ).fetchone()
    if earlier:
        temporary.unlink()
        # The same bytes downloaded for another period (an empty report looks the same every
        # time) still prove that period: the rows are not imported twice, the days are added.
        covered.again(con, int(earlier[1]), str(earlier[2]))
        return FileResult(incoming.name, "duplicate", same_as=str(earlier[0]))
    raw = workspace.raw_path(sha256)
    created = not raw.exists()
    if created:
        temporary.replace(raw)
    else:
        temporary.unlink()
    scratch = [workspace.tmp_dir / f"{sha256}.json.tsv", workspace.tmp_dir / f"{sha256}.txt"]
    try:
        return _decode_and_load(
            workspace=workspace,
            incoming=incoming,
            raw=raw,
            sha256=sha256,
            size=size,
            account=account,
            marketplace=marketplace,
            reporter=reporter,
            scratch=scratch,
            declared=declared,
            covered=covered,
            tuning=tuning,
        )
    except Exception:
        if created and not _referenced(workspace, sha256):
            raw.unlink(missing_ok=True)
        raise
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)


def _referenced(workspace: Workspace, sha256: str) -> bool:
    row = run(
        workspace.con, "SELECT count(*) FROM source_files WHERE sha256 = ?", [sha256]
    ).fetchone()
    return bool(row and row[0])


def _decode_and_load(
    *,
    workspace: Workspace,
    incoming: Incoming,
    raw: Path,
    sha256: str,
    size: int,
    account: str,
    marketplace: str | None,
    reporter: Reporter,
    scratch: list[Path],
    covered: Covered,
    declared: str | None = None,
    tuning: Tuning | None = None,
) -> FileResult:
    name = incoming.name
    parsed_from = scratch[0] if json_to_tsv(raw, name, scratch[0]) else raw
    layout, copy = _transcribed(
        parsed_from, scratch[1], name, reporter, japanese=marketplace == "JP", declared=declared
    )
    con = workspace.con
    title = layout.report.title
    loader = FileLoader(
        con,
        layout,
        name=name,
        account=account,
        marketplace=marketplace,
        on_phase=lambda step: reporter.phase(f"{title}: {step}"),
        tuning=tuning,
    )
    try:
        if not copy.complete or not loader.stage(copy):
            reporter.phase(f"{title}: renumbering irregular lines")
            loader.stage(number_lines(parsed_from, layout, scratch[1], name))
        con.begin()
        try:
            file_id = register(
                con,
                account=account,
                sha256=sha256,
                name=name,
                origin=str(incoming.origin),
                size=size,
                layout=layout,
            )
            loaded = loader.load(file_id)
            markets = run(
                con,
                f"SELECT DISTINCT marketplace FROM {layout.report.table}_rows WHERE file_id = ? "
                "ORDER BY 1",
                [file_id],
            ).fetchall()
            covered.file(con, file_id, table=layout.report.table,
                         markets=[m[0] for m in markets], first=loaded.first_date,
                         last=loaded.last_date)  # fmt: skip
            outside = covered.outside(layout.report.table, loaded.first_date, loaded.last_date)
            if outside:
                run(con, "INSERT INTO import_warnings VALUES (?, ?)", [file_id, outside])
                loaded.warnings.append(outside)
            interrupts.check()  # a Ctrl+C DuckDB swallowed mid-file still stops the commit
            con.commit()
        except BaseException:  # a Ctrl+C too: the file is all in or not at all
            with contextlib.suppress(Exception):
                con.rollback()
            raise
    finally:
        loader.close()
    return FileResult(
        name,
        "imported",
        file_id=file_id,
        report=layout.report.name,
        table=layout.report.table,
        encoding=layout.encoding,
        rows=loaded.rows,
        rejects=loaded.rejects,
        first_date=loaded.first_date,
        last_date=loaded.last_date,
        marketplaces=[m[0] for m in markets],
        warnings=loaded.warnings,
        reject_samples=loaded.reject_samples,
    )


def _transcribed(
    parsed_from: Path,
    out: Path,
    name: str,
    reporter: Reporter,
    *,
    japanese: bool,
    declared: str | None,
) -> tuple[Layout, Normalised]:
    """The file's layout and UTF-8 copy, in the first encoding (in detection order) that reads
    it whole; a FileProblem naming the first line when none does."""
    try:
        layout = detect(parsed_from, name, japanese=japanese, declared=declared)
        reporter.phase(f"{layout.report.title}: decoding")
        while True:
            try:
                return layout, transcribe(parsed_from, layout, out, reporter.advance)
            except UnicodeDecodeError:
                layout = next_encoding(
                    layout, parsed_from, name, japanese=japanese, declared=declared
                )
    except Undecodable as bad:
        raise FileProblem(name, bad.problem, bad.line) from None
