"""The `recoup` command line: the group, and the one place a failure becomes a sentence.

Each command lives in the module of its verb (imports, audit, claims, sync, serve, simulate);
everything printed comes from `recoup.cli.output`. Services live outside this package, which
nothing outside it imports.

Start-up is part of the product: `recoup --help` lists the commands from `COMMANDS` without
importing them, and a command imports its module, and that module its services, only when it
runs. `tests/test_startup.py` keeps Ibis, pyarrow, Spark and FastAPI out of the light commands.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from recoup import interrupts

# Every command: its module in recoup.cli, the Click object there, and the first sentence of its
# help (what `recoup --help` lists; tests/test_startup.py checks it against the command itself).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "audit": ("audit", "audit_command",
              "Run every rule, store the findings and print what is owed by kind and state."),
    "claims": ("claims", "claims_group",
               "Claims drafted from the findings: list, show, file, resolve, export."),
    "demo": ("simulate", "demo_command",
             "Simulate a seller account, import it, and show what it is owed."),
    "doctor": ("imports", "doctor_command", "Check the workspace, recoup.toml and the "
               "credentials files; say how to fix a problem."),
    "export-lake": ("audit", "export_lake_command", "Write the canonical tables as Parquet "
                    "under LAKE, for recoup audit --engine spark."),
    "findings": ("audit", "findings_command",
                 "Export the findings of an audit (columns as in the export contract)."),
    "import": ("imports", "import_command",
               "Import Amazon reports: files, folders, .gz and .zip."),
    "serve": ("serve", "serve_command", "The dashboard: what is owed, the findings and their "
              "evidence, the claims, imports."),
    "simulate": ("simulate", "simulate_command",
                 "Write a simulated seller account's reports and answer key into OUT."),
    "status": ("imports", "status_command", "What the workspace holds, per report type."),
    "sync": ("sync", "sync_command", "Pull every report recoup reads from Amazon's Selling "
             "Partner API, then match claims."),
}  # fmt: skip

DEFAULT_WORKSPACE = Path("recoup-workspace")  # Settings.workspace's default (a test keeps it so)


class Recoup(click.Group):
    """The command group, and the one place a failure becomes one sentence with the next step:
    a wrong recoup.toml, a busy, damaged or read-only workspace, a full disk, and anything
    unexpected. Never a traceback, unless RECOUP_DEBUG=1 asks for it."""

    debug_env = "RECOUP_DEBUG"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command's module is imported the first time the command is asked for."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute, _summary = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"recoup.cli.{module}"), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing of `recoup --help`, from `COMMANDS`: no command module is imported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name) or click.Command(name, help=COMMANDS[name][2])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        interrupts.install()
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
            root = (ctx.obj or {}).get("workspace") or DEFAULT_WORKSPACE
            raise click.ClickException(self.sentence(error, Path(root))) from None

    @staticmethod
    def interrupted(error: BaseException) -> bool:
        """Ctrl+C, also when it reached DuckDB mid-query (a RuntimeError "Query interrupted"
        raised from the KeyboardInterrupt, seen with DuckDB 1.4)."""
        duckdb = sys.modules.get("duckdb")  # a query can only be interrupted once it is loaded
        stops = (KeyboardInterrupt, duckdb.InterruptException) if duckdb else (KeyboardInterrupt,)
        seen: list[BaseException] = []
        link: BaseException | None = error
        while link is not None and link not in seen:
            if isinstance(link, stops):
                return True
            seen.append(link)
            link = link.__cause__ or link.__context__
        return False

    @classmethod
    def sentence(cls, error: BaseException, root: Path) -> str:
        """What a failure prints: its own sentence, or that recoup did not expect it."""
        from recoup.settings import ConfigError
        from recoup.workspace import WorkspaceError, explain

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
    help=f"Workspace folder (default ./{DEFAULT_WORKSPACE}; env RECOUP_WORKSPACE).",
)
@click.pass_context
def main(ctx: click.Context, workspace: Path | None) -> None:
    """recoup: find the money Amazon owes you, claim it, and track it to the money."""
    from recoup.settings import ConfigError, Settings, load_settings

    try:
        settings: Settings | None = load_settings()
    except ConfigError:
        if ctx.invoked_subcommand != "doctor":
            raise
        settings = None  # doctor reports it, and still checks the rest
    default = settings.workspace if settings else DEFAULT_WORKSPACE
    ctx.obj = {"workspace": workspace or default, "settings": settings}
