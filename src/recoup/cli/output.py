"""Everything the CLI prints: the import and status summaries, the audit table, what changed in
the claims, the money figures, and the progress bars."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from recoup import coverage, findings
from recoup.claims import Updated, figures
from recoup.ingest import FileResult
from recoup.rules import KINDS
from recoup.workspace import unwritable

if TYPE_CHECKING:
    from recoup.audit import Audit

MAX_REJECTS_SHOWN = 10
LARGE_FILE = 1024 * 1024  # files from this size on get a progress bar
# Control characters, and the bidirectional overrides that make a terminal show text reversed.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def summary_console() -> Console:
    """Rich wraps at 80 columns when output is not a terminal; summaries must not be cut."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def emit(text: str, output: Path | None, what: str) -> None:
    """Print an export, or write it to `output` and say so on stderr (`what`: '12 claims')."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(
            f"{unwritable(output, error)}; choose another --output path"
        ) from None
    print(f"wrote {what} to {output}", file=sys.stderr)


def emit_rows(write: Callable[[IO[str]], int], output: Path | None, noun: str) -> None:
    """Stream an export to the screen, or to `output` (written beside it, then moved into place,
    so a failed export never leaves half a file) and say so on stderr: 'wrote 12 {noun}'."""
    if output is None:
        write(sys.stdout)
        return
    try:
        hidden = f".{output.name}."
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=output.parent, prefix=hidden, delete=False
        ) as out:
            try:
                count = write(out)
            except BaseException:
                out.close()
                Path(out.name).unlink(missing_ok=True)
                raise
        os.replace(out.name, output)
    except OSError as error:
        raise click.ClickException(
            f"{unwritable(output, error)}; choose another --output path"
        ) from None
    print(f"wrote {count} {noun} to {output}", file=sys.stderr)


def shown(text: str) -> str:
    """A name from outside (a file's, a zip member's) or a message quoting one, as Rich markup
    that prints it as it is, on one line: its brackets escaped, and control characters written
    out (`\\x1b`, `\\n`) rather than obeyed by the terminal."""
    return escape(printable(text))


def printable(text: str) -> str:
    """`text` with its control characters written out (`\\x1b`), for output that is not markup."""
    return UNPRINTABLE.sub(lambda found: found[0].encode("unicode_escape").decode(), text)


def _period(first: object, last: object) -> str:
    if first is None:
        return "-"
    return f"{first}..{last}" if first != last else str(first)


def print_import_summary(console: Console, results: list[FileResult]) -> None:
    imported = [r for r in results if r.status == "imported"]
    table = Table(title="Imported", title_justify="left")
    for heading in ("report", "files", "rows", "period", "markets", "rejects", "encoding"):
        table.add_column(
            heading, justify="right" if heading in ("files", "rows", "rejects") else "left"
        )
    groups: dict[str, list[FileResult]] = defaultdict(list)
    for result in imported:
        groups[result.table or "?"].append(result)
    for name, group in groups.items():
        firsts = [r.first_date for r in group if r.first_date is not None]
        lasts = [r.last_date for r in group if r.last_date is not None]
        rejects = sum(r.rejects for r in group)
        table.add_row(
            name,
            str(len(group)),
            f"{sum(r.rows for r in group):,}",
            _period(min(firsts) if firsts else None, max(lasts) if lasts else None),  # type: ignore[type-var]
            ", ".join(sorted({m for r in group for m in r.marketplaces})),
            f"[red]{rejects}[/red]" if rejects else "0",
            ", ".join(sorted({r.encoding or "?" for r in group})),
        )
    if imported:
        console.print(table)
    duplicates = [r for r in results if r.status == "duplicate"]
    if duplicates:
        console.print(f"{len(duplicates)} file(s) already imported, nothing to do:")
        for r in duplicates:
            console.print(
                f"  {shown(r.name)} (same bytes as {shown(str(r.same_as))})", soft_wrap=True
            )
    for r in imported:
        for warning in r.warnings:
            console.print(
                f"[yellow]warning[/yellow] {shown(r.name)}: {shown(warning)}",
                highlight=False,
                soft_wrap=True,
            )
        if r.rejects:
            console.print(
                f"[red]{r.rejects} row(s) of {shown(r.name)} could not be read[/red] "
                "(stored as rejects; `recoup status` counts them):",
                highlight=False,
                soft_wrap=True,
            )
            for line, column, raw, problem in r.reject_samples[:MAX_REJECTS_SHOWN]:
                where = f"line {line}" + (f", column {column!r}" if column else "")
                text = (raw or "")[:80]
                console.print(f"  {where}: {problem}: {text!r}", markup=False)
            if r.rejects > MAX_REJECTS_SHOWN:
                console.print(f"  ... and {r.rejects - MAX_REJECTS_SHOWN} more", markup=False)
    for r in results:
        if r.status == "failed":
            # One line each, however long the path: not wrapped, so it can be searched for.
            console.print(
                f"[red]error[/red] {shown(str(r.problem))}", highlight=False, soft_wrap=True
            )
    if not results:
        console.print("No files found.")


def print_status(console: Console, status: dict[str, Any]) -> None:
    table = Table(title="Workspace", title_justify="left")
    for heading in ("report", "files", "rows", "period", "markets", "rejects", "covers"):
        table.add_column(
            heading, justify="right" if heading in ("files", "rows", "rejects") else "left"
        )
    for name, entry in status.items():
        table.add_row(
            name,
            str(entry["files"]),
            f"{entry['rows']:,}",
            _period(entry["first_date"], entry["last_date"]),
            ", ".join(entry["marketplaces"]),
            f"[red]{entry['rejects']}[/red]" if entry["rejects"] else "0",
            _covers(entry.get("coverage", {})),
        )
    console.print(table)


def _covers(by_market: dict[str, Any]) -> str:
    """The covered day ranges per marketplace, gaps in red (principle 11)."""
    lines = []
    for market, found in by_market.items():
        spans = ", ".join(f"{a}..{b}" for a, b in found["ranges"])
        holes = ", ".join(f"{a}..{b}" for a, b in found["gaps"])
        lines.append(f"{market} {spans}" + (f" [red]gaps {holes}[/red]" if holes else ""))
    return "\n".join(lines) or "-"


def print_audit(console: Console, result: Audit) -> None:
    totals = findings.totals(result.findings)
    currencies = {str(f["currency"]) for f in result.findings}
    money = "/".join(sorted(currencies)) or "money"
    table = Table(
        title=f"Findings for account {result.account} as of {result.as_of} "
        f"(count / units / {money})",
        title_justify="left",
    )
    table.add_column("finding kind")
    for state in findings.STATES:
        table.add_column(state.replace("_", " "), justify="right")
    for kind in KINDS:
        if kind in result.skipped:
            table.add_row(kind, f"[dim]skipped: {result.skipped[kind]}[/dim]", "", "", "")
            continue
        table.add_row(kind, *(_cell(totals.get((kind, s))) for s in findings.STATES))
    table.add_row(
        "[bold]total[/bold]",
        *(_cell([sum(totals[k, s][i] for k in KINDS if (k, s) in totals) for i in range(3)])
          for s in findings.STATES),
    )  # fmt: skip
    console.print(table)
    print_downloads(console, result.findings)


def print_downloads(console: Console, rows: list[dict[str, Any]]) -> None:
    """What to download to verify the unverified findings (principle 11), the most money first."""
    wanted = coverage.downloads(rows)
    if not wanted:
        return
    console.print(
        "[bold]Unverified[/bold]: these findings are not claimed until the reports that could "
        "cancel them cover their days."
    )
    for download in wanted:
        console.print(f"- {download.sentence()}")


def _cell(total: list[Any] | None) -> str:
    if not total or not total[0]:
        return "-"
    return f"{total[0]} / {total[1]} / {total[2]:,.2f}"


def print_update(console: Console, updated: Updated) -> None:
    """One or two lines after an audit or import: what changed in the claims."""
    for line in updated.lines():
        console.print(line, markup=False, style="yellow" if "flagged" in line else None)


def print_figures(console: Console, result: figures.Figures) -> None:
    table = Table(title=f"Money for account {result.account} (audit as of {result.as_of}, "
                  f"today {result.today})", title_justify="left")  # fmt: skip
    table.add_column("kind")
    for measure in figures.MEASURES:
        table.add_column(measure, justify="right")
    totals = {(r["measure"], r["kind"], r["currency"]): r["amount"]
              for r in result.totals(("measure", "kind", "currency"))}  # fmt: skip
    currencies = sorted({r["currency"] or "" for r in result.rows})
    # The kinds with money, the most detected first (reading every kind's rule would load Ibis).
    detected: dict[str, Any] = defaultdict(int)
    for r in result.totals(("measure", "kind")):
        detected[r["kind"]] += r["amount"] if r["measure"] == "detected" else 0
    for kind in sorted(detected, key=lambda k: (-detected[k], k)):
        cells = [
            " ".join(f"{totals[m, kind, c]:,.2f}" for c in currencies if (m, kind, c) in totals)
            or "-"
            for m in figures.MEASURES
        ]
        table.add_row(kind, *cells)
    grand = {(r["measure"], r["currency"]): r["amount"] for r in result.totals()}
    table.add_row("[bold]total[/bold]", *(
        " ".join(f"{grand[m, c]:,.2f} {c}" for c in currencies if (m, c) in grand) or "-"
        for m in figures.MEASURES))  # fmt: skip
    console.print(table)
    for d in result.deadlines:
        console.print(f"Closing within {d['days']} days: {d['count']} finding(s), "
                      f"{d['amount']:,.2f} {d['currency']}")  # fmt: skip
    for c in result.next_claims:
        console.print(
            f"  {c['claim_id']} {c['kind']} {c['group_key']}: {c['amount']:,.2f} "
            f"{c['currency']}, closes {c['window_closes']} ({c['days_left']} d)"
        )


class RichReporter:
    """A progress bar per large file: bytes read, then the decode and load phases."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.name = ""

    def file_started(self, name: str, size: int) -> None:
        self.name = printable(Path(name).name)  # control characters written out, not obeyed
        if size >= LARGE_FILE:
            # Bytes are counted twice: once copied into the raw store, once decoded.
            self.task = self.progress.add_task(self.name, total=2 * size)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def phase(self, text: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=f"{self.name}: {text}")

    def file_finished(self) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None


def counting(description: str = "{task.description}") -> Progress:
    """A progress bar on stderr that counts steps (rules, products) and is gone when done."""
    return Progress(
        TextColumn(description), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    )  # fmt: skip


def reading() -> Progress:
    """A progress bar on stderr per large file being imported, in bytes."""
    return Progress(
        TextColumn("{task.description}", markup=False),  # a file's name is not markup
        BarColumn(), DownloadColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip
