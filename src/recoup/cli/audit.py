"""`recoup audit`, `recoup findings` and `recoup export-lake`.

The audit, its engines and the lake load Ibis; they are imported inside the commands that run
them, so `recoup findings` (which reads stored findings) starts in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from recoup import clock
from recoup import findings as stored
from recoup.cli.context import KindChoice, settings_of
from recoup.cli.output import (
    counting,
    emit,
    emit_rows,
    print_audit,
    print_update,
    summary_console,
)
from recoup.findings import STATES
from recoup.policy import PolicyError
from recoup.rules import KINDS
from recoup.settings import Settings
from recoup.sql import run
from recoup.workspace import Workspace

if TYPE_CHECKING:
    from recoup.audit import Audit
    from recoup.claims import Updated
    from recoup.engines import Engine


def run_audit(
    workspace: Workspace,
    settings: Settings,
    account: str,
    as_of: dt.date,
    engine: Engine | None = None,
) -> tuple[Audit, Updated]:
    """Audit one account with a progress bar, store the findings, bring the claims in line."""
    from recoup import audit as auditing

    with counting() as progress:
        task = progress.add_task("auditing", total=len(KINDS))

        def on_rule(kind: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=f"auditing: {kind or 'summing up'}")

        try:
            return auditing.audit_and_claims(
                workspace, settings, account, as_of, engine=engine, on_rule=on_rule
            )
        except (PolicyError, auditing.FutureAudit) as error:
            raise click.ClickException(str(error)) from None


@click.command("audit")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Audit as of this date (default: today).")  # fmt: skip
@click.option("--account", default=None, help="Seller account (default: from settings).")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb",
              show_default=True, help="Where the rules run.")  # fmt: skip
@click.option("--lake", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --engine spark: the folder recoup export-lake wrote.")  # fmt: skip
@click.option("--spark-master", envvar="SPARK_MASTER", default=None,
              help="Spark master URL (default: local mode).")  # fmt: skip
@click.pass_context
def audit_command(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    as_of: dt.datetime | None,
    account: str | None,
    engine: str,
    lake: Path | None,
    spark_master: str | None,
) -> None:
    """Run every rule, store the findings and print what is owed by kind and state."""
    from recoup import audit as auditing
    from recoup.engines import spark_engine

    settings = settings_of(ctx)
    account = account or settings.account
    day = as_of.date() if as_of else clock.today()
    try:
        auditing.refuse_future(day)
    except auditing.FutureAudit as error:
        raise click.BadParameter(str(error), param_hint="--as-of") from None
    console = summary_console()
    with Workspace(ctx.obj["workspace"]) as workspace:
        chosen = None
        if engine == "spark":
            if lake is None:
                raise click.UsageError("--engine spark needs --lake DIR (see recoup export-lake)")
            chosen = spark_engine(lake, spark_master)
        try:
            result, updated = run_audit(workspace, settings, account, day, chosen)
        finally:
            if chosen is not None:
                chosen.close()
    print_audit(console, result)
    print_update(console, updated)
    console.print(
        f"{len(result.findings)} findings stored. Next: [bold]recoup claims list --state "
        "draft[/bold] lists the claims to file; [bold]recoup findings --state claimable[/bold] "
        "the findings behind them."
    )


@click.command("findings")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.option("--state", "states", multiple=True, type=click.Choice(STATES))
@click.option("--kind", "kinds", multiple=True, type=KindChoice())
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The audit of this date (default: the latest audit).")  # fmt: skip
@click.option("--account", default=None)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of the screen.")  # fmt: skip
@click.pass_context
def findings_command(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    fmt: str,
    states: tuple[str, ...],
    kinds: tuple[str, ...],
    as_of: dt.datetime | None,
    account: str | None,
    output: Path | None,
) -> None:
    """Export the findings of an audit (columns as in the export contract)."""
    account = account or settings_of(ctx).account
    with Workspace(ctx.obj["workspace"]) as workspace:
        day = as_of.date() if as_of else stored.latest_as_of(workspace.con, account)
        if day is None:
            raise click.ClickException(f"no audit of account {account!r} yet: run recoup audit")
        known = run(
            workspace.con,
            "SELECT count(*) FROM audits WHERE account = ? AND as_of = ?",
            [account, day],
        ).fetchone()
        if not known or not known[0]:
            raise click.ClickException(
                f"no audit of account {account!r} as of {day}: run recoup audit --as-of {day}"
            )
        if fmt in ("csv", "json"):
            write = stored.write_csv if fmt == "csv" else stored.write_json
            streamed = stored.stream(workspace.con, account, day, kinds, states)
            emit_rows(lambda out: write(streamed, out), output, "findings")
            return
        rows = stored.load(workspace.con, account, day, kinds, states)
    console = (
        summary_console() if output is None else Console(file=io.StringIO(), width=200, record=True)
    )
    table = Table(title=f"{len(rows)} findings, account {account}, as of {day}",
                  title_justify="left")  # fmt: skip
    needs = any(r["needs"] for r in rows)  # the downloads unverified findings wait for
    for column in ("kind", "fnsku", "id", "event_date", "quantity", "amount",
                   "state", "window_closes", *(("needs",) if needs else ())):  # fmt: skip
        table.add_column(column, justify="right" if column in ("quantity", "amount") else "left")
    for r in rows:
        table.add_row(r["kind"], r["fnsku"] or "", r["order_id"] or r["shipment_id"] or
                      r["removal_order_id"] or r["reimbursement_id"] or r["reference_id"] or "",
                      str(r["event_date"]), str(r["quantity"]), f"{r['amount']:.2f}",
                      r["state"], str(r["window_closes"]),
                      *((r["needs"] or "",) if needs else ()))  # fmt: skip
    if output is None:
        console.print(table)
        return
    console.print(table)
    text = console.export_text()
    emit(text, output, f"{len(rows)} findings")


@click.command("export-lake")
@click.argument("lake", type=click.Path(file_okay=False, path_type=Path))
@click.option("--account", "accounts", multiple=True, help="Only these accounts (default: all).")
@click.pass_context
def export_lake_command(ctx: click.Context, lake: Path, accounts: tuple[str, ...]) -> None:
    """Write the canonical tables as Parquet under LAKE, for recoup audit --engine spark."""
    from recoup.lake import export_lake

    with Workspace(ctx.obj["workspace"]) as workspace:
        counts = export_lake(
            workspace.con, lake, list(accounts) or None,
            on_table=lambda name, n: click.echo(f"  {name}: {n:,} rows", err=True),
        )  # fmt: skip
    click.echo(f"wrote {len(counts)} tables ({sum(counts.values()):,} rows) to {lake}")
