"""`recoup serve`: the dashboard in the browser."""

from __future__ import annotations

import os

import click

from recoup.settings import Settings
from recoup.sources.credentials import CredentialsError, check_private
from recoup.workspace import Workspace

PASSWORD_ENV = "RECOUP_WEB_PASSWORD"


def web_password(settings: Settings) -> str | None:
    """`RECOUP_WEB_PASSWORD`, else the 0600 file `[web] password_file` names; None if neither."""
    password = os.environ.get(PASSWORD_ENV, "")
    if not password and settings.web.password_file is not None:
        path = settings.web.password_file.expanduser()
        try:
            check_private(path, "password file")
        except CredentialsError as error:
            raise click.ClickException(str(error)) from None
        password = path.read_text(encoding="utf-8").strip()
    return password or None


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1; anything "
              "else needs a password: RECOUP_WEB_PASSWORD or [web] password_file).")  # fmt: skip
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.pass_context
def serve_command(ctx: click.Context, host: str | None, port: int | None) -> None:
    """The dashboard: what is owed, the findings and their evidence, the claims, imports."""
    import uvicorn  # the web stack loads only for the command that serves it

    from recoup.web.app import create_app
    from recoup.web.security import Guard, is_loopback

    settings: Settings = ctx.obj["settings"]
    host = host or settings.web.host
    port = settings.web.port if port is None else port
    if not 0 <= port <= 65535:
        raise click.BadParameter(f"{port} is not a port number (0-65535)", param_hint="--port")
    password = web_password(settings)
    loopback = is_loopback(host)
    if not loopback and password is None:
        raise click.ClickException(
            f"listening on {host} lets other machines reach your seller data, so it needs a "
            f"password: set {PASSWORD_ENV}, or [web] password_file in recoup.toml naming a file "
            "only you can read (chmod 600). There is no default password."
        )
    root = ctx.obj["workspace"]
    with Workspace(root):
        pass  # migrations run now, once, not on every page; a busy, damaged or read-only
        # workspace refuses to start here, with the sentence every command gives (cli.Recoup)
    app = create_app(root, settings, Guard(password, loopback))
    shown = f"[{host}]" if ":" in host else host
    guarded = " (password required)" if password else ""
    click.echo(f"recoup dashboard for {root} on http://{shown}:{port}/{guarded}; Ctrl+C stops it",
               err=True)  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="warning")
