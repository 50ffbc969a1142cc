"""`recoup sync`: pull the reports from the Selling Partner API into the workspace."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from recoup import claims
from recoup.cli.audit import run_audit
from recoup.cli.output import print_audit, print_update, summary_console
from recoup.settings import Settings
from recoup.sources import credentials as creds
from recoup.sources.catalog import BY_NAME
from recoup.sources.spapi import SourceError, SpApiSource
from recoup.sources.sync import AuditWhenNew, Outcome, Sync, run
from recoup.workspace import Workspace


@click.command("sync")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Backfill from this day (at most 18 months back).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Choice(sorted(BY_NAME)),
    help="Only these reports (default: all).",
)
@click.option("--account", default=None, help="Seller account (default: from settings).")
@click.option(
    "--credentials",
    "credentials_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"A 0600 TOML credentials file (or {creds.FILE_ENV}).",
)
@click.pass_context
def sync_command(
    ctx: click.Context,
    since: dt.datetime | None,
    reports: tuple[str, ...],
    account: str | None,
    credentials_file: Path | None,
) -> None:
    """Pull every report recoup reads from Amazon's Selling Partner API, then match claims."""
    settings: Settings = ctx.obj["settings"]
    account = account or settings.account
    try:
        credentials = creds.load(file=credentials_file)
    except creds.CredentialsError as error:
        raise click.ClickException(str(error)) from None
    err = Console(stderr=True)
    console = summary_console()

    def waited(operation: str, seconds: float) -> None:
        err.print(f"  Amazon throttled {operation}: waiting {seconds:.1f} s")

    try:
        source = SpApiSource(credentials, on_wait=waited)
    except SourceError as error:
        raise click.ClickException(str(error)) from None
    today = dt.datetime.now(dt.UTC).date()
    root = Path(ctx.obj["workspace"])
    Workspace(root).close()  # create or migrate it before the first request to Amazon
    job = Sync(root, source, account, today, settings.sync,
               say=lambda text: err.print(f"  {escape(text)}"), sleep=time.sleep)  # fmt: skip
    err.print(f"Syncing account {account} ({', '.join(credentials.marketplaces)}) from "
              f"{credentials.endpoint}")  # fmt: skip

    def audit() -> None:
        """Audit what the sync brought so far: the recent days every open claim depends on
        are in; days not pulled yet leave their findings unverified (principle 11)."""
        with Workspace(root) as workspace:
            result, updated = run_audit(workspace, settings, account, today)
        print_audit(console, result)
        print_update(console, updated)

    audits = AuditWhenNew(audit)
    try:
        outcomes = run(job, credentials.marketplaces, since.date() if since else None, reports,
                       on_recent=audits)  # fmt: skip
    finally:
        source.close()
    print_outcomes(console, outcomes)
    if not audits(outcomes) and not audits.ran:  # nothing new: reimbursements may still match
        with Workspace(root) as workspace:
            print_update(console, claims.after_import(workspace.con, [account]))
    if any(o.state == "failed" for o in outcomes):
        sys.exit(1)


def print_outcomes(console: Console, outcomes: list[Outcome]) -> None:
    """The sync's summary. Notes carry Amazon's text (masked by the sync): printed as text, never
    read as Rich markup."""
    table = Table(title="Synced", title_justify="left")
    for column in ("report", "market", "window", "result", "rows", "note"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for o in outcomes:
        colour = {"failed": "red", "no data": "dim", "up to date": "dim"}.get(o.state)
        result = f"[{colour}]{o.state}[/{colour}]" if colour else o.state
        table.add_row(
            BY_NAME[o.pull].title,
            o.marketplace,
            escape(o.window),
            result,
            f"{o.rows:,}" if o.rows else "",
            escape(o.note),
        )
    console.print(table)
    for o in outcomes:  # a failure's full text, which the table's note column may wrap
        if o.state == "failed" and o.note:
            console.print(f"{BY_NAME[o.pull].title} {o.marketplace} {o.window}: {o.note}",
                          markup=False, style="red")  # fmt: skip
    rows = sum(o.rows for o in outcomes)
    failed = sum(o.state == "failed" for o in outcomes)
    console.print(
        f"{rows:,} rows imported from {len(outcomes)} report window(s)"
        + (f"; [red]{failed} failed[/red] (run recoup sync again to retry)" if failed else "")
        + "."
    )
