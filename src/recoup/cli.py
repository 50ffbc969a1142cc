"""The `recoup` command line: one thin command per verb."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click
import duckdb
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from recoup import claims, clock
from recoup import demo as demo_account
from recoup.audit_cli import (
    audit_and_claims,
    audit_command,
    export_lake_command,
    findings_command,
    print_audit,
)
from recoup.claims_cli import claims_group, print_update
from recoup.coverage import Span, parse_period
from recoup.doctor import run_checks
from recoup.ingest import FileResult, import_paths
from recoup.reports.marketplaces import normalise_marketplace
from recoup.serve_cli import serve_command
from recoup.settings import ConfigError, Settings, load_settings
from recoup.simulate import SimConfig, simulate
from recoup.simulate import partial as simulate_partial
from recoup.simulate.compare import differences
from recoup.status import workspace_status
from recoup.summary import print_import_summary, print_status, printable, summary_console
from recoup.sync_cli import sync_command
from recoup.workspace import Workspace, WorkspaceError, explain

LARGE_FILE = 1024 * 1024  # files from this size on get a progress bar


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


class Recoup(click.Group):
    """The command group, and the one place a failure becomes one sentence with the next step:
    a wrong recoup.toml, a busy, damaged or read-only workspace, a full disk, and anything
    unexpected. Never a traceback, unless RECOUP_DEBUG=1 asks for it."""

    debug_env = "RECOUP_DEBUG"

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (KeyboardInterrupt, Exception) as error:
            if os.environ.get(self.debug_env, "") not in ("", "0"):
                raise
            if self.interrupted(error):
                click.echo("interrupted", err=True)
                raise click.exceptions.Exit(130) from None
            root = (ctx.obj or {}).get("workspace") or Settings.model_fields["workspace"].default
            raise click.ClickException(self.sentence(error, Path(root))) from None

    @staticmethod
    def interrupted(error: BaseException) -> bool:
        """Ctrl+C, also when it reached DuckDB mid-query (a RuntimeError "Query interrupted"
        raised from the KeyboardInterrupt, seen with DuckDB 1.4)."""
        seen: list[BaseException] = []
        link: BaseException | None = error
        while link is not None and link not in seen:
            if isinstance(link, KeyboardInterrupt | duckdb.InterruptException):
                return True
            seen.append(link)
            link = link.__cause__ or link.__context__
        return False

    @classmethod
    def sentence(cls, error: BaseException, root: Path) -> str:
        """What a failure prints: its own sentence, or that recoup did not expect it."""
        if isinstance(error, ConfigError | WorkspaceError):
            return str(error)
        known = explain(error, root)
        if known:
            return known
        first = next(iter(str(error).strip().splitlines()), "")
        return (
            f"recoup hit an unexpected problem: {type(error).__name__}{': ' if first else ''}"
            f"{first} - please report it with the command you ran ({cls.debug_env}=1 shows the "
            "details)"
        )


@click.group(cls=Recoup)
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RECOUP_WORKSPACE",
    help="Workspace folder (default ./recoup-workspace; env RECOUP_WORKSPACE).",
)
@click.pass_context
def main(ctx: click.Context, workspace: Path | None) -> None:
    """recoup: find the money Amazon owes you, claim it, and track it to the money."""
    try:
        settings: Settings | None = load_settings()
    except ConfigError:
        if ctx.invoked_subcommand != "doctor":
            raise
        settings = None  # doctor reports it, and still checks the rest
    default = settings.workspace if settings else Settings.model_fields["workspace"].default
    ctx.obj = {"workspace": workspace or default, "settings": settings}


def _open(ctx: click.Context) -> Workspace:
    return Workspace(ctx.obj["workspace"])


def _import(
    workspace: Workspace,
    paths: list[Path],
    account: str,
    marketplace: str | None,
    period: Span | None = None,
) -> list[FileResult]:
    """Import with a progress bar per large file (on stderr, gone when done)."""
    progress = Progress(
        TextColumn("{task.description}", markup=False),  # a file's name is not markup
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        return import_paths(
            workspace,
            paths,
            account=account,
            marketplace=marketplace,
            reporter=RichReporter(progress),
            period=period,
        )


@main.command("import")
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
    with _open(ctx) as workspace:
        results = _import(workspace, list(paths), account, market, stated)
        updated = claims.after_import(workspace.con, [account])
    print_import_summary(console, results)
    print_update(console, updated)
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
        print_status(summary_console(), data)


def _simulation_options(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--seed", default=7, show_default=True, help="Random seed."),
            click.option("--months", default=14, show_default=True, help="Months of history."),
            click.option(
                "--marketplace",
                type=click.Choice(["US", "DE"]),
                default="US",
                show_default=True,
            ),
            click.option(
                "--as-of",
                type=click.DateTime(formats=["%Y-%m-%d"]),
                default=None,
                help="Last day of the history (default: today).",
            ),
            click.option(
                "--drop",
                multiple=True,
                metavar="REPORT",
                help="Leave this report out (repeatable; e.g. customer_returns, reimbursements, "
                "removals, settlements, ledger_detail).",
            ),
            click.option(
                "--cut",
                multiple=True,
                metavar="REPORT:YYYY-MM-DD",
                help="Leave out this report's rows dated before the day; its files are imported "
                "on their own (repeatable).",
            ),
            click.option(
                "--one-batch",
                is_flag=True,
                help="Import every file in one command, cut reports too (they then cover the "
                "whole batch's days).",
            ),
        ]
    ):
        command = option(command)
    return command


def _config(  # noqa: PLR0917 - one parameter per option
    seed: int,
    months: int,
    marketplace: str,
    as_of: dt.datetime | None,
    partial: tuple[tuple[str, ...], tuple[str, ...], bool],
    scale: float = 1.0,
) -> SimConfig:
    day = as_of.date() if as_of else demo_account.default_as_of()
    drop, cut, one_batch = partial
    try:
        dropped, cuts = simulate_partial.parse_drop(drop), simulate_partial.parse_cut(cut)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--drop/--cut") from None
    return SimConfig(seed=seed, months=months, marketplace=marketplace, as_of=day, scale=scale,
                     drop=dropped, cut=cuts, one_batch=one_batch)  # fmt: skip


@main.command("simulate")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@_simulation_options
@click.option("--scale", default=1.0, show_default=True, help="1.0 = 40 products.")
@click.option("--quirks/--no-quirks", default=False, help="Write the real files' quirks too.")
def simulate_command(  # noqa: PLR0917 - one parameter per option
    out: Path,
    seed: int,
    months: int,
    marketplace: str,
    as_of: dt.datetime | None,
    drop: tuple[str, ...],
    cut: tuple[str, ...],
    one_batch: bool,
    scale: float,
    quirks: bool,
) -> None:
    """Write a simulated seller account's reports and answer key into OUT."""
    config = _config(seed, months, marketplace, as_of, (drop, cut, one_batch), scale)
    with Progress(
        TextColumn("simulating products"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("simulate", total=None)
        simulated = simulate(
            config, out, quirks=quirks, keep_events=False,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )  # fmt: skip
    click.echo(
        f"wrote {len(simulated.reports)} report files ({simulated.rows:,} rows, "
        f"{simulated.ledger_rows:,} of them ledger rows) to {out / 'reports'} "
        f"and {len(simulated.findings)} expected findings to {simulated.answer_key}"
    )


@main.command()
@_simulation_options
@click.pass_context
def demo(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    seed: int,
    months: int,
    marketplace: str,
    as_of: dt.datetime | None,
    drop: tuple[str, ...],
    cut: tuple[str, ...],
    one_batch: bool,
) -> None:
    """Simulate a seller account, import it, and show what it is owed."""
    console = summary_console()
    config = _config(seed, months, marketplace, as_of, (drop, cut, one_batch))
    console.print(
        f"Simulating {months} months of a {marketplace} FBA seller (seed {seed}), "
        f"up to {config.as_of}..."
    )
    with _open(ctx) as workspace:
        with console.status("Simulating the account and writing its reports..."):
            simulated = demo_account.generate(workspace.root, config)
        results = [  # one import per group: what is imported together covers the same days
            result
            for group in simulated.import_groups
            for result in _import(workspace, group, "demo", marketplace)
        ]
        print_import_summary(console, results)
        audit, updated = audit_and_claims(workspace, ctx.obj["settings"], "demo", config.as_of)
    print_audit(console, audit)
    print_update(console, updated)
    wrong = differences(simulated.findings, audit.findings)
    if wrong:
        console.print(f"[red]The audit differs from the simulator's answer key in {len(wrong)} "
                      "places:[/red]\n" + "\n".join(wrong[:20]))  # fmt: skip
    else:
        console.print(
            f"The audit agrees with the simulator's answer key ({len(audit.findings)} findings)."
        )
    console.print(
        f"Reports: {simulated.reports[0].parent}\nAnswer key: {simulated.answer_key}\n"
        "Next: [bold]recoup claims list --account demo --state draft[/bold] lists the claims to "
        "file; [bold]recoup claims show ID[/bold] prints one's case text; "
        "[bold]recoup serve[/bold] (or make serve) shows it all in the browser."
    )
    if wrong or any(r.status == "failed" or r.rejects for r in results):
        sys.exit(1)


for _command in (
    audit_command,
    findings_command,
    export_lake_command,
    claims_group,
    sync_command,
    serve_command,
):
    main.add_command(_command)


@main.command("doctor")
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
