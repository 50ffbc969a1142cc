"""The `recoup` command line: the group, and the one place a failure becomes a sentence.

Each command lives in the module of its verb (imports, audit, claims, sync, serve, simulate);
everything printed comes from `recoup.cli.output`. Services live outside this package, which
nothing outside it imports.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import duckdb

from recoup.cli.audit import audit_command, export_lake_command, findings_command
from recoup.cli.claims import claims_group
from recoup.cli.imports import doctor_command, import_command, status_command
from recoup.cli.serve import serve_command
from recoup.cli.simulate import demo_command, simulate_command
from recoup.cli.sync import sync_command
from recoup.settings import ConfigError, Settings, load_settings
from recoup.workspace import WorkspaceError, explain


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


for _command in (
    import_command,
    status_command,
    simulate_command,
    demo_command,
    audit_command,
    findings_command,
    export_lake_command,
    claims_group,
    sync_command,
    serve_command,
    doctor_command,
):
    main.add_command(_command)
