"""`recoup simulate` and `recoup demo`: a simulated seller account with its answer key.

The demo writes the account under `<workspace>/demo/<marketplace>-seed<seed>-<as-of>/` (reports
and answer key), imports it like any download, audits it and checks the audit against the key.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from recoup import clock
from recoup.cli.audit import run_audit
from recoup.cli.context import open_workspace, settings_of
from recoup.cli.imports import import_with_progress
from recoup.cli.output import (
    counting,
    print_audit,
    print_import_summary,
    print_update,
    summary_console,
)
from recoup.simulate import SimConfig, simulate
from recoup.simulate import partial as simulate_partial
from recoup.simulate.compare import differences


def demo_folder(workspace: Path, config: SimConfig) -> Path:
    return workspace / "demo" / f"{config.marketplace}-seed{config.seed}-{config.as_of}"


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
    day = as_of.date() if as_of else clock.today()
    drop, cut, one_batch = partial
    try:
        dropped, cuts = simulate_partial.parse_drop(drop), simulate_partial.parse_cut(cut)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--drop/--cut") from None
    return SimConfig(seed=seed, months=months, marketplace=marketplace, as_of=day, scale=scale,
                     drop=dropped, cut=cuts, one_batch=one_batch)  # fmt: skip


@click.command("simulate")
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
    with counting("simulating products") as progress:
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


@click.command("demo")
@_simulation_options
@click.pass_context
def demo_command(  # noqa: PLR0917 - one parameter per option
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
    with open_workspace(ctx) as workspace:
        with console.status("Simulating the account and writing its reports..."):
            simulated = simulate(config, demo_folder(workspace.root, config), quirks=True)
        results = [  # one import per group: what is imported together covers the same days
            result
            for group in simulated.import_groups
            for result in import_with_progress(workspace, group, "demo", marketplace)
        ]
        print_import_summary(console, results)
        audit, updated = run_audit(workspace, settings_of(ctx), "demo", config.as_of)
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
