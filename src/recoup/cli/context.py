"""What every command reads from the group: the workspace folder and the settings; and the
finding kinds as an option's choices."""

from __future__ import annotations

from collections.abc import Sequence

import click

from recoup.settings import Settings
from recoup.workspace import Workspace


def settings_of(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj["settings"]
    return settings


def open_workspace(ctx: click.Context) -> Workspace:
    return Workspace(ctx.obj["workspace"])


class KindChoice(click.Choice[str]):
    """`--kind`: one of the finding kinds, read when a value is checked or help is shown, not
    when the command loads. Kinds come from the rule modules, which load Ibis; and a kind
    registered after start-up (a rule package, a test) is offered too."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> Sequence[str]:
        from recoup.rules import KINDS

        return tuple(KINDS)

    @choices.setter
    def choices(self, _value: Sequence[str]) -> None:
        """Click's constructor sets the choices; they are always read from the rules."""
