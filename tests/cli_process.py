"""`recoup` run as a seller runs it: a separate process, its real stdout and stderr.

Hostile-input tests use this rather than Click's runner, because what they guard is what reaches
the terminal: an exit code, a clear sentence, and never a Python traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def recoup(
    *args: str | Path,
    workspace: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str = "",
    timeout: float = 120,
) -> Ran:
    """Run `python -m recoup ARGS` and return what it printed; fails the test on a traceback."""
    command = [sys.executable, "-m", "recoup"]
    if workspace is not None:
        command += ["--workspace", str(workspace)]
    command += [str(a) for a in args]
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=timeout,
        check=False,
    )
    ran = Ran(done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in ran.text, (
        f"recoup {' '.join(map(str, args))} printed a traceback:\n{ran.text}"
    )
    return ran
