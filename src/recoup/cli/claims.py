"""`recoup claims ...`: list, show, file, resolve, reopen, export, templates, summary."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from recoup import clock
from recoup.claims import Updated, drafts, figures, filing_list, store, workflow
from recoup.claims import export as exporting
from recoup.claims.matching import match
from recoup.claims.store import STATES, ClaimError
from recoup.cli.context import KindChoice
from recoup.cli.output import emit, print_figures, print_update, summary_console
from recoup.policy import PolicyError, load_policy
from recoup.settings import Settings
from recoup.workspace import Workspace

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _context(ctx: click.Context, account: str | None) -> tuple[Settings, str, Path]:
    settings: Settings = ctx.obj["settings"]
    return settings, account or settings.account, ctx.obj["workspace"]


def _day(value: dt.datetime | None) -> dt.date:
    return value.date() if value else clock.today()


@click.group("claims")
def claims_group() -> None:
    """Claims drafted from the findings: list, show, file, resolve, export."""


@claims_group.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES))
@click.option("--kind", "kinds", multiple=True, type=KindChoice())
@click.option("--expiring", type=int, default=None, metavar="DAYS",
              help="Only drafts whose window closes within DAYS days.")  # fmt: skip
@click.option("--account", default=None)
@click.pass_context
def list_command(ctx: click.Context, states: tuple[str, ...], kinds: tuple[str, ...],
                 expiring: int | None, account: str | None) -> None:  # fmt: skip
    """Claims, soonest deadline first."""
    _s, account, root = _context(ctx, account)
    today = clock.today()
    closing = None
    if expiring is not None:
        states, closing = states or ("draft",), today + dt.timedelta(days=expiring)
    with Workspace(root) as workspace:
        rows = store.claims(workspace.con, account, states, kinds, closing)
    if expiring is not None:
        rows = [r for r in rows if r["window_closes"] >= today]
    table = Table(title=f"{len(rows)} claims, account {account}", title_justify="left")
    for column in ("claim", "kind", "market", "about", "units", "amount", "closes", "state",
                   "case id", "recovered"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("units", "amount", "recovered")
                         else "left")  # fmt: skip
    for r in rows:
        left = (r["window_closes"] - today).days
        closes = f"{r['window_closes']} ({left} d)" if r["state"] == "draft" else ""
        state = r["state"] + (" [yellow](review)[/yellow]" if r["review"] else "")
        table.add_row(r["claim_id"], r["kind"], r["marketplace"], r["group_key"],
                      str(r["quantity"]), f"{r['amount']:,.2f} {r['currency'] or ''}", closes,
                      state, r["case_id"] or "", f"{r['recovered_amount']:,.2f}")  # fmt: skip
    summary_console().print(table)


@claims_group.command("show")
@click.argument("claim_id")
@click.option("--on", type=DAY, default=None, help="Filing day for a draft (default: today).")
@click.option("--save", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write ID.txt and ID-evidence.csv into this folder.")  # fmt: skip
@click.option("--history", is_flag=True, help="Also list the claim's events.")
@click.pass_context
def show_command(ctx: click.Context, claim_id: str, on: dt.datetime | None, save: Path | None,
                 history: bool) -> None:  # fmt: skip
    """The case text to paste into Seller Support (and the evidence CSV to attach)."""
    settings, _account, root = _context(ctx, None)
    try:
        policy = load_policy(settings.audit.windows, settings.audit.cost_basis)
    except PolicyError as error:
        raise click.ClickException(str(error)) from None
    with Workspace(root) as workspace:
        try:
            draft = drafts.render(workspace.con, claim_id, policy, _day(on), root)
        except ClaimError as error:
            raise click.ClickException(str(error)) from None
        events = store.history(workspace.con, draft.claim["claim_id"]) if history else []
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        name = draft.claim["claim_id"]
        (save / f"{name}.txt").write_text(draft.text, encoding="utf-8")
        (save / f"{name}-evidence.csv").write_text(draft.evidence_csv, encoding="utf-8")
        click.echo(f"wrote {save / f'{name}.txt'} and {save / f'{name}-evidence.csv'}", err=True)
    else:
        sys.stdout.write(draft.text)
    if draft.claim["review"]:
        click.echo(f"\nReview: {draft.claim['review']}", err=True)
    for e in events:
        details = " ".join(str(v) for v in (e["case_id"], e["finding_id"], e["units"],
                                            e["amount"], e["note"]) if v is not None)  # fmt: skip
        click.echo(f"{e['on_date']}  {e['event']:<16} -> {e['state_after']:<18} {details}")


def _act(ctx: click.Context, action: Any, *args: Any) -> dict[str, Any]:
    """Run a workflow action; a filed claim is then matched at once against the reimbursements
    already imported (Amazon may have paid before the filing was recorded)."""
    with Workspace(ctx.obj["workspace"]) as workspace:
        try:
            result: dict[str, Any] = action(workspace.con, *args)
        except ClaimError as error:
            raise click.ClickException(str(error)) from None
        if result["state"] in store.FILED:
            print_update(summary_console(), Updated(None, match(workspace.con, result["account"])))
        return result


@claims_group.command("file")
@click.argument("claim_id", required=False)
@click.option("--case-id", default=None, help="The Seller Support case id Amazon gave you.")
@click.option("--on", type=DAY, default=None, help="The day you filed it (default: today).")
@click.option("--from", "from_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="File many: a CSV with claim_id, case_id[, filed_on] (the "
              "claims export with case ids filled in).")  # fmt: skip
@click.pass_context
def file_command(ctx: click.Context, claim_id: str | None, case_id: str | None,
                 on: dt.datetime | None, from_file: Path | None) -> None:  # fmt: skip
    """Record that you filed a draft with Seller Support (or many, --from a CSV)."""
    if from_file is not None:
        if claim_id or case_id:
            raise click.UsageError("give either CLAIM_ID --case-id N, or --from FILE")
        _file_from(ctx, from_file, _day(on))
        return
    if not claim_id or not case_id:
        raise click.UsageError("say which claim and its case id: CLAIM_ID --case-id N")
    claim = _act(ctx, workflow.file, claim_id, case_id, _day(on))
    click.echo(f"{claim['claim_id']} filed on {claim['filed_on']} as case {claim['case_id']}; "
               "recoup will match Amazon's reimbursements to it on every import.")  # fmt: skip


def _file_from(ctx: click.Context, path: Path, today: dt.date) -> None:
    try:
        rows, problems = filing_list.read(path, today)
    except ClaimError as error:
        raise click.ClickException(str(error)) from None
    with Workspace(ctx.obj["workspace"]) as workspace:
        filed, failed = filing_list.file_all(workspace.con, path, rows)
        accounts = sorted({c["account"] for c in filed})
        paid = [p for account in accounts for p in match(workspace.con, account)]
    console = summary_console()
    console.print(f"{len(filed)} claim(s) filed from {path}.")
    print_update(console, Updated(None, paid))
    for problem in problems + failed:
        click.echo(problem, err=True)
    if problems or failed:
        sys.exit(1)


@claims_group.command("resolve")
@click.argument("claim_id")
@click.option("--denied", "outcome", flag_value="denied", help="Amazon refused it.")
@click.option("--withdrawn", "outcome", flag_value="withdrawn", help="You let it go.")
@click.option("--on", type=DAY, default=None)
@click.option("--note", default="", help="Why, for the claim's history.")
@click.pass_context
def resolve_command(ctx: click.Context, claim_id: str, outcome: str | None,
                    on: dt.datetime | None, note: str) -> None:  # fmt: skip
    """Close a claim as denied or withdrawn."""
    if outcome is None:
        raise click.UsageError("say --denied or --withdrawn")
    claim = _act(ctx, workflow.resolve, claim_id, outcome, _day(on), note)
    click.echo(f"{claim['claim_id']} is {claim['state']}.")


@claims_group.command("reopen")
@click.argument("claim_id")
@click.option("--case-id", default=None, help="A new case id (default: the claim's own).")
@click.option("--on", type=DAY, default=None)
@click.option("--note", default="")
@click.pass_context
def reopen_command(ctx: click.Context, claim_id: str, case_id: str | None,
                   on: dt.datetime | None, note: str) -> None:  # fmt: skip
    """Take a denied, withdrawn or expired claim back."""
    claim = _act(ctx, workflow.reopen, claim_id, _day(on), case_id, note)
    click.echo(f"{claim['claim_id']} is {claim['state']} again.")


@claims_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "markdown"]), default="csv",
              show_default=True)  # fmt: skip
@click.option("--state", "states", multiple=True, type=click.Choice(STATES))
@click.option("--account", default=None)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_context
def export_command(ctx: click.Context, fmt: str, states: tuple[str, ...], account: str | None,
                   output: Path | None) -> None:  # fmt: skip
    """One row per claim (columns as in design.md)."""
    _s, account, root = _context(ctx, account)
    with Workspace(root) as workspace:
        rows = exporting.rows(workspace.con, account, states)
    writer = {"csv": exporting.to_csv, "json": exporting.to_json,
              "markdown": exporting.to_markdown}[fmt]  # fmt: skip
    emit(writer(rows), output, f"{len(rows)} claims")


@claims_group.command("templates")
@click.option("--force", is_flag=True, help="Overwrite templates you already edited.")
@click.pass_context
def templates_command(ctx: click.Context, force: bool) -> None:
    """Copy the claim text templates into the workspace, where you can edit them."""
    folder = Path(ctx.obj["workspace"]) / drafts.USER_TEMPLATES
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(drafts.shipped_templates().items()):
        target = folder / name
        if target.exists() and not force:
            click.echo(f"kept    {target} (yours; --force replaces it)")
            continue
        target.write_text(text, encoding="utf-8")
        click.echo(f"wrote   {target}")
    click.echo("Edit them: recoup claims show uses your copies from now on.")


@claims_group.command("summary")
@click.option("--account", default=None)
@click.pass_context
def summary_command(ctx: click.Context, account: str | None) -> None:
    """Money detected, claimable, filed, recovered and missed; the next deadlines."""
    _s, account, root = _context(ctx, account)
    with Workspace(root) as workspace:
        result = figures.figures(workspace.con, account)
    print_figures(summary_console(), result)
