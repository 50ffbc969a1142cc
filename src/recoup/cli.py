"""The `recoup` command line: one thin command per verb."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from recoup.ingest import import_paths
from recoup.reports.marketplaces import normalise_marketplace
from recoup.settings import Settings
from recoup.status import workspace_status
from recoup.summary import print_import_summary, print_status
from recoup.workspace import Workspace

LARGE_FILE = 1024 * 1024  # files from this size on get a progress bar


class RichReporter:
    """A progress bar per large file: bytes read, then the decode and load phases."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.name = ""

    def file_started(self, name: str, size: int) -> None:
        self.name = Path(name).name
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


def _console() -> Console:
    """Rich wraps at 80 columns when output is not a terminal; summaries must not be cut."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


@click.group()
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RECOUP_WORKSPACE",
    help="Workspace folder (default ./recoup-workspace; env RECOUP_WORKSPACE).",
)
@click.pass_context
def main(ctx: click.Context, workspace: Path | None) -> None:
    """recoup: find the money Amazon owes you, claim it, and track it to the money."""
    settings = Settings()
    ctx.obj = {"workspace": workspace or settings.workspace, "settings": settings}


def _open(ctx: click.Context) -> Workspace:
    return Workspace(ctx.obj["workspace"])


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--account", default=None, help="Seller account name (default: default).")
@click.option(
    "--marketplace",
    default=None,
    help="Marketplace (e.g. US, DE) for reports that do not say, such as Reimbursements.",
)
@click.option(
    "--accept-rejects", is_flag=True, help="Exit 0 even when some rows could not be read."
)
@click.pass_context
def import_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    account: str | None,
    marketplace: str | None,
    accept_rejects: bool,
) -> None:
    """Import Amazon reports: files, folders, .gz and .zip."""
    market = None
    if marketplace:
        market = normalise_marketplace(marketplace)
        if market is None:
            raise click.BadParameter(
                f"unknown marketplace {marketplace!r}", param_hint="--marketplace"
            )
    console = _console()
    with _open(ctx) as workspace:
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with progress:
            results = import_paths(
                workspace,
                list(paths),
                account=account or ctx.obj["settings"].account,
                marketplace=market,
                reporter=RichReporter(progress),
            )
    print_import_summary(console, results)
    failed = any(r.status == "failed" for r in results)
    rejected = any(r.rejects for r in results)
    if failed or (rejected and not accept_rejects):
        sys.exit(1)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--account", default=None, help="Only this seller account.")
@click.pass_context
def status(ctx: click.Context, fmt: str, account: str | None) -> None:
    """What the workspace holds, per report type."""
    with _open(ctx) as workspace:
        data = workspace_status(workspace.con, account)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        print_status(_console(), data)
