"""A process killed mid-import leaves the workspace as it was before that file (real SIGKILL)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recoup.ingest import import_paths
from recoup.workspace import Workspace
from tests.conftest import BIG_LEDGER_ROWS, DATA, big_ledger


def _import(workspace: Path, report: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "recoup", "--workspace", str(workspace), "import", str(report)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _state(folder: Path) -> tuple[int, int, list[str]]:
    with Workspace(folder) as ws:
        files = ws.con.execute("SELECT count(*) FROM source_files").fetchone()
        rows = ws.con.execute("SELECT count(*) FROM ledger_detail_rows").fetchone()
        assert files is not None
        assert rows is not None
        return int(files[0]), int(rows[0]), sorted(p.name for p in ws.raw_dir.iterdir())


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_sigkill_mid_import_leaves_the_workspace_as_before(tmp_path: Path) -> None:
    base = tmp_path / "base"
    with Workspace(base) as ws:
        import_paths(ws, [DATA / "reports/ledger_detail/us_spaced_2026.tsv"])
    before = _state(base)
    report = tmp_path / "ledger.tsv"
    big_ledger(report)

    full = tmp_path / "full"
    shutil.copytree(base, full)
    started = time.monotonic()
    assert _import(full, report).wait() == 0
    duration = time.monotonic() - started
    after = _state(full)
    assert after[0] == before[0] + 1
    assert after[1] == before[1] + BIG_LEDGER_ROWS

    outcomes = set()
    for fraction in (0.15, 0.35, 0.55, 0.75, 0.9):
        run = tmp_path / f"kill-{fraction}"
        shutil.copytree(base, run)
        process = _import(run, report)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = _state(run)
        assert state in (before, after), (fraction, state)
        outcomes.add("before" if state == before else "after")
    assert "before" in outcomes  # at least one kill landed before the commit
