"""What every command reads from the group: the workspace folder and the settings."""

from __future__ import annotations

import click

from recoup.settings import Settings
from recoup.workspace import Workspace


def settings_of(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj["settings"]
    return settings


def open_workspace(ctx: click.Context) -> Workspace:
    return Workspace(ctx.obj["workspace"])
