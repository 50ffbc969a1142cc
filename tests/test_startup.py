"""Start-up: the light commands load none of the heavy libraries (issue 16).

`recoup --help`, `recoup status`, `recoup claims list` and `recoup findings` are what a seller
runs most; each is a fresh process, so whatever it imports it pays for on every run. Ibis (the
rules), pyarrow, Spark and FastAPI (the dashboard) belong only to the commands that use them.
Each case runs the real command in a fresh interpreter on a workspace that holds an audited
account with claims, and reads `sys.modules` after it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from recoup.cli import COMMANDS, DEFAULT_WORKSPACE, main
from recoup.settings import Settings
from recoup.simulate import SimConfig
from tests.conftest import audited_account

HEAVY = ("ibis", "pyarrow", "pyspark", "fastapi", "pandas", "numpy")
AS_OF = dt.date(2025, 6, 30)

# Runs the CLI as `recoup` does, then prints the heavy modules it loaded as JSON on stderr.
PROBE = """
import json, sys
from recoup.cli import main
try:
    main.main(args=sys.argv[1:], prog_name="recoup", standalone_mode=False)
finally:
    sys.stderr.write("\\nLOADED " + json.dumps([m for m in HEAVY if m in sys.modules]))
""".replace("HEAVY", repr(HEAVY))


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated account, imported and audited: claims and findings to list."""
    config = SimConfig(seed=5, months=4, scale=0.2, as_of=AS_OF)
    return audited_account(tmp_path_factory.mktemp("startup"), config, "shop")


def loaded(root: Path, *args: str) -> tuple[list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--workspace", str(root), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stderr.rpartition("LOADED ")[2]), done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["status"],
        ["status", "--account", "shop", "--format", "json"],
        ["claims", "list", "--account", "shop"],
        ["claims", "list", "--account", "shop", "--state", "draft", "--expiring", "400"],
        ["findings", "--account", "shop", "--format", "json"],
        ["claims", "summary", "--account", "shop"],
    ],
    ids=" ".join,
)
def test_light_commands_load_no_heavy_library(audited: Path, args: list[str]) -> None:
    heavy, out = loaded(audited, *args)
    assert heavy == [], f"recoup {' '.join(args)} loaded {heavy}"
    assert out.strip()  # it did its job: printed the help, the status, the claims, the findings


def test_the_probe_sees_a_heavy_import(audited: Path) -> None:
    """The guard can fail: `findings --kind` lists the kinds, which loads the rules (Ibis)."""
    heavy, _out = loaded(audited, "findings", "--account", "shop", "--kind", "warehouse_lost")
    assert "ibis" in heavy


def test_help_lists_every_command_as_its_own_help_says() -> None:
    """`recoup --help` lists the commands from COMMANDS without importing them; each entry's
    summary is the command's own first sentence, and every command is listed."""
    for name, (module, attribute, summary) in COMMANDS.items():
        command = main.get_command(click.Context(main), name)
        assert command is not None, name
        assert command.name == name
        assert command.get_short_help_str(1000) == summary, name
        assert getattr(importlib.import_module(f"recoup.cli.{module}"), attribute) is command
    result = CliRunner().invoke(main, ["--help"])
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_default_workspace_is_the_settings_default() -> None:
    assert Settings.model_fields["workspace"].default == DEFAULT_WORKSPACE
