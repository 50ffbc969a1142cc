"""`recoup import`, `recoup status` and `recoup doctor`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from recoup import claims, clock
from recoup.cli.context import open_workspace
from recoup.cli.output import (
    RichReporter,
    print_import_summary,
    print_status,
    print_update,
    reading,
    summary_console,
)
from recoup.coverage import Span, parse_period
from recoup.doctor import run_checks
from recoup.ingest import FileResult, import_paths
from recoup.reports.marketplaces import normalise_marketplace
from recoup.status import workspace_status
from recoup.workspace import Workspace


def import_with_progress(
    workspace: Workspace,
    paths: list[Path],
    account: str,
    marketplace: str | None,
    period: Span | None = None,
) -> list[FileResult]:
    """Import with a progress bar per large file (on stderr, gone when done)."""
    with reading() as progress:
        return import_paths(
            workspace,
            paths,
            account=account,
            marketplace=marketplace,
            reporter=RichReporter(progress),
            period=period,
        )


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--account", default=None, help="Seller account name (default: default).")
@click.option(
    "--marketplace",
    default=None,
    help="Marketplace (e.g. US, DE) for reports that do not say, such as Reimbursements.",
)
@click.option(
    "--period",
    default=None,
    metavar="FROM..TO",
    help="The days these downloads cover (the date range you chose in Seller Central), so an "
    "empty report still proves nothing happened then. Default: the first to last row date of "
    "the files imported together.",
)
@click.option(
    "--accept-rejects", is_flag=True, help="Exit 0 even when some rows could not be read."
)
@click.pass_context
def import_command(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    paths: tuple[Path, ...],
    account: str | None,
    marketplace: str | None,
    period: str | None,
    accept_rejects: bool,
) -> None:
    """Import Amazon reports: files, folders, .gz and .zip."""
    stated = None
    if period is not None:
        try:
            stated = parse_period(period, clock.today())
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--period") from None
    market = None
    if marketplace:
        market = normalise_marketplace(marketplace)
        if market is None:
            raise click.BadParameter(
                f"unknown marketplace {marketplace!r}", param_hint="--marketplace"
            )
    console = summary_console()
    account = account or ctx.obj["settings"].account
    with open_workspace(ctx) as workspace:
        results = import_with_progress(workspace, list(paths), account, market, stated)
        updated = claims.after_import(workspace.con, [account])
    print_import_summary(console, results)
    print_update(console, updated)
    failed = any(r.status == "failed" for r in results)
    rejected = any(r.rejects for r in results)
    if failed or (rejected and not accept_rejects):
        sys.exit(1)


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--account", default=None, help="Only this seller account.")
@click.pass_context
def status_command(ctx: click.Context, fmt: str, account: str | None) -> None:
    """What the workspace holds, per report type."""
    with open_workspace(ctx) as workspace:
        data = workspace_status(workspace.con, account)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        print_status(summary_console(), data)


@click.command("doctor")
@click.pass_context
def doctor_command(ctx: click.Context) -> None:
    """Check the workspace, recoup.toml and the credentials files; say how to fix a problem."""
    root = ctx.obj["workspace"]
    click.echo(f"Checking the workspace {root}, recoup.toml and the credentials files.")
    checks = run_checks(root, ctx.obj["settings"])
    for check in checks:
        click.echo(f"{'ok' if check.ok else 'problem':<8} {check.name}: {check.says}")
    problems = sum(not check.ok for check in checks)
    if problems:
        click.echo(f"{problems} to fix.")
        sys.exit(1)
    click.echo("All is well.")
