"""`recoup import`: detect -> decode -> stage -> cast -> merge, atomically per file."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from recoup.ingest.decode import (
    Layout,
    detect,
    json_to_tsv,
    next_encoding,
    number_lines,
    transcribe,
)
from recoup.ingest.errors import FileProblem
from recoup.ingest.load import FileLoader, register
from recoup.ingest.rawstore import copy_in
from recoup.ingest.sources import Incoming, expand
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
) -> list[FileResult]:
    """Import every report under `paths`; one result per file, in the order read.

    `declared_encoding`: the codec the source named (an SP-API document's charset), tried
    first; a file it cannot decode strictly is detected as usual. `name_of`: the name each file
    is shown and cited by (default: its path as given)."""
    reporter = reporter or Silent()
    results = []
    for item in expand(list(paths), name_of):
        if isinstance(item, FileProblem):
            results.append(FileResult(item.name, "failed", problem=str(item)))
            continue
        try:
            results.append(
                _import_one(
                    workspace, item, account, marketplace, reporter, declared=declared_encoding
                )
            )
        except FileProblem as problem:
            results.append(FileResult(item.name, "failed", problem=str(problem)))
        finally:
            reporter.file_finished()
    return results


def _import_one(
    workspace: Workspace,
    incoming: Incoming,
    account: str,
    marketplace: str | None,
    reporter: Reporter,
    *,
    declared: str | None = None,
) -> FileResult:
    size_hint = incoming.origin.stat().st_size if incoming.origin.is_file() else 0
    reporter.file_started(incoming.name, size_hint)
    reporter.phase("copying into the raw store")
    temporary, sha256, size = copy_in(incoming, workspace.raw_dir, reporter.advance)
    con = workspace.con
    earlier = con.execute(
        "SELECT name FROM source_files WHERE account = ? AND sha256 = ?", [account, sha256]
    ).fetchone()
    if earlier:
        temporary.unlink()
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
        )
    except Exception:
        if created and not _referenced(workspace, sha256):
            raw.unlink(missing_ok=True)
        raise
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)


def _referenced(workspace: Workspace, sha256: str) -> bool:
    row = workspace.con.execute(
        "SELECT count(*) FROM source_files WHERE sha256 = ?", [sha256]
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
    declared: str | None = None,
) -> FileResult:
    name = incoming.name
    parsed_from = scratch[0] if json_to_tsv(raw, name, scratch[0]) else raw
    japanese = marketplace == "JP"
    layout: Layout = detect(parsed_from, name, japanese=japanese, declared=declared)
    reporter.phase(f"{layout.report.title}: decoding")
    while True:
        try:
            copy = transcribe(parsed_from, layout, scratch[1], reporter.advance)
            break
        except UnicodeDecodeError:
            layout = next_encoding(layout, parsed_from, name, japanese=japanese, declared=declared)
    con = workspace.con
    title = layout.report.title
    loader = FileLoader(
        con,
        layout,
        name=name,
        account=account,
        marketplace=marketplace,
        on_phase=lambda step: reporter.phase(f"{title}: {step}"),
    )
    try:
        if not loader.stage(copy):
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
            markets = con.execute(
                f"SELECT DISTINCT marketplace FROM {layout.report.table}_rows WHERE file_id = ? "
                "ORDER BY 1",
                [file_id],
            ).fetchall()
            con.commit()
        except Exception:
            with contextlib.suppress(Exception):
                con.rollback()
            raise
    finally:
        loader.close()
    return FileResult(
        name,
        "imported",
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
