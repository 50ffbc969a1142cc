"""A damaged workspace, a wrong configuration or a full disk: one clear sentence and the next
step, never a traceback (issue 20); and `recoup doctor`, which checks all of it.

Each case runs `recoup` as a separate process (tests/cli_process.py fails on a traceback). The
read-only and full-disk cases need a small tmpfs, so they run as root and are skipped elsewhere.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import duckdb
import pytest
from click.testing import CliRunner

from recoup.cli import Recoup
from tests.cli_process import Ran, recoup
from tests.conftest import DATA, big_ledger

# One worker runs the whole module: its module fixtures are built once.
pytestmark = pytest.mark.xdist_group("hostile_workspace")

DEMO = ("demo", "--months", "3", "--as-of", "2026-11-28")
AS_OF = "2026-11-28"
A_REPORT = DATA / "reports/ledger_detail/us_spaced_2026.tsv"
# Every command that opens the workspace, as a seller would type it.
COMMANDS = {
    "status": ("status",),
    "findings": ("findings", "--account", "demo"),
    "claims list": ("claims", "list", "--account", "demo"),
    "audit": ("audit", "--account", "demo", "--as-of", AS_OF),
    "import": ("import", str(A_REPORT)),
    "serve": ("serve", "--port", "0"),
    "doctor": ("doctor",),
}


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a demo account in it, built once: tests damage copies of it."""
    root = tmp_path_factory.mktemp("demo") / "ws"
    ran = recoup(*DEMO, workspace=root)
    assert ran.code == 0, ran.text
    return root


def _copy(workspace: Path, to: Path) -> Path:
    """The database, raw store and scratch folder (not the demo's own report files)."""
    to.mkdir(parents=True)
    shutil.copy2(workspace / "recoup.duckdb", to / "recoup.duckdb")
    shutil.copytree(workspace / "raw", to / "raw")
    (to / "tmp").mkdir()
    return to


def _state(workspace: Path) -> tuple[str, str, list[str]]:
    """What a seller sees of the workspace: status, the findings, the raw store."""
    status = recoup("status", "--format", "json", workspace=workspace)
    assert status.code == 0, status.text
    found = recoup("findings", "--account", "demo", "--format", "csv", workspace=workspace)
    assert found.code == 0, found.text
    return status.out, found.out, sorted(p.name for p in (workspace / "raw").iterdir())


def _demo_report(workspace: Path, pattern: str) -> Path:
    return max(workspace.glob(f"demo/*/reports/{pattern}"), key=lambda p: p.stat().st_size)


# --- recoup.toml ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        pytest.param(
            '[web]\nport = 8000\nhost = "127.0.0.1\n',
            ["recoup.toml", "line 3", "not valid TOML"],
            id="syntax",
        ),
        pytest.param(
            '# the dashboard\n[web]\nport = "abc"\n',
            ["recoup.toml", "line 3", "web.port", "expected an integer", "found 'abc'"],
            id="port-text",
        ),
        pytest.param(
            "[audit]\nunderpaid_tolerance = []\n",
            [
                "recoup.toml",
                "line 2",
                "audit.underpaid_tolerance",
                "expected a decimal number",
                "found []",
            ],
            id="tolerance-list",
        ),
        pytest.param(
            '[audit]\nmemory_limit = "lots"\n',
            ["recoup.toml", "line 2", "audit.memory_limit", "expected a size such as '1GB'"],
            id="memory-limit",
        ),
    ],
)
def test_a_wrong_recoup_toml_is_named_with_its_line_and_key(
    tmp_path: Path, toml: str, expected: list[str]
) -> None:
    (tmp_path / "recoup.toml").write_text(toml, encoding="utf-8")
    ran = recoup("status", workspace=tmp_path / "ws", cwd=tmp_path)
    assert ran.code == 1, ran.text
    for words in expected:
        assert words in ran.err, ran.err
    assert len(ran.err.strip().splitlines()) == 1, ran.err
    assert not (tmp_path / "ws").exists()  # nothing was opened, let alone created


def test_a_number_where_recoup_toml_wants_decimal_text_is_accepted(tmp_path: Path) -> None:
    """`underpaid_tolerance = 0.10` is what a seller writes; it means the same as "0.10"."""
    (tmp_path / "recoup.toml").write_text("[audit]\nunderpaid_tolerance = 0.10\n")
    ran = recoup("status", "--format", "json", workspace=tmp_path / "ws", cwd=tmp_path)
    assert ran.code == 0, ran.text


# --- a damaged workspace ----------------------------------------------------------------------


def _garbage(db: Path) -> None:
    db.write_bytes(hashlib.sha256(b"not a database").digest() * 4096)


def _truncated(db: Path) -> None:
    with db.open("r+b") as file:
        file.truncate(5000)


def _blocks(db: Path) -> None:
    """The headers intact, every block after them overwritten: DuckDB's checksums catch it."""
    size = db.stat().st_size
    with db.open("r+b") as file:
        file.seek(3 * 4096)
        file.write(b"\x5a" * (size - 3 * 4096))


def _folder(db: Path) -> None:
    db.unlink()
    db.mkdir()
    (db / "something.txt").write_text("a folder where the database file should be")


DAMAGE = {"garbage": _garbage, "truncated": _truncated, "blocks": _blocks, "folder": _folder}


@pytest.fixture(scope="module")
def damaged(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One damaged copy of the demo workspace per kind of damage (commands only read them)."""
    made = {}
    for name, damage in DAMAGE.items():
        copy = _copy(demo_workspace, tmp_path_factory.mktemp(name) / "ws")
        damage(copy / "recoup.duckdb")
        made[name] = copy
    return made


def _said(ran: Ran, command: str) -> str:
    """Where the sentence is: on stderr, or in doctor's report (its output)."""
    assert ran.code == 1, ran.text
    return ran.out if command == "doctor" else ran.err


def _says_damaged(ran: Ran, workspace: Path, command: str) -> None:
    said = _said(ran, command)
    assert str(workspace / "recoup.duckdb") in said, said
    assert "damaged" in said, said
    assert "restore it from a backup" in said, said
    assert "--workspace" in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_names_a_damaged_database_and_the_next_step(
    damaged: dict[str, Path], command: str
) -> None:
    workspace = damaged["garbage"]
    ran = recoup(*COMMANDS[command], workspace=workspace)
    _says_damaged(ran, workspace, command)
    if command == "serve":
        assert "dashboard" not in ran.text  # it refused to start


@pytest.mark.parametrize("damage", ["truncated", "blocks"])
@pytest.mark.parametrize("command", ["status", "audit"])
def test_a_cut_or_overwritten_database_is_damaged_too(
    damaged: dict[str, Path], damage: str, command: str
) -> None:
    workspace = damaged[damage]
    _says_damaged(recoup(*COMMANDS[command], workspace=workspace), workspace, command)


@pytest.mark.parametrize("command", ["status", "claims list", "import", "serve"])
def test_a_folder_where_the_database_should_be(damaged: dict[str, Path], command: str) -> None:
    workspace = damaged["folder"]
    ran = recoup(*COMMANDS[command], workspace=workspace)
    assert ran.code == 1, ran.text
    assert f"{workspace / 'recoup.duckdb'} is a folder" in ran.err, ran.err
    assert "--workspace" in ran.err, ran.err


def test_a_damaged_write_ahead_log_is_named_with_how_to_open_without_it(
    demo_workspace: Path, tmp_path: Path
) -> None:
    workspace = _copy(demo_workspace, tmp_path / "ws")
    con = duckdb.connect(str(workspace / "recoup.duckdb"))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")  # leave the change in the log
    con.execute("INSERT INTO import_warnings VALUES (1, 'a change since the last checkpoint')")
    con.close()
    log = workspace / "recoup.duckdb.wal"
    with log.open("r+b") as file:
        file.seek(log.stat().st_size // 2)
        file.write(b"\xff" * 64)
    for command in ("status", "doctor"):
        said = _said(recoup(*COMMANDS[command], workspace=workspace), command)
        assert f"write-ahead log {log} is damaged" in said, said
        assert "move that file away" in said, said
    log.unlink()  # what the sentence says to do
    assert recoup("status", workspace=workspace).code == 0


# --- a read-only workspace and a full disk: a small tmpfs of our own ---------------------------


def _mount(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(
            "needs a small tmpfs to make a read-only or full disk, and mount refused "
            f"({done.stderr.strip() or done.returncode}): run the tests as root to include it"
        )


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@pytest.fixture(scope="module")
def read_only(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the demo workspace on a file system mounted read-only (chmod does not stop
    root, a read-only mount does)."""
    disk = tmp_path_factory.mktemp("ro") / "disk"
    _mount(disk, "64M")
    try:
        workspace = _copy(demo_workspace, disk / "ws")
        remount = subprocess.run(["mount", "-o", "remount,ro", str(disk)],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        if remount.returncode != 0:
            pytest.skip(f"cannot remount the tmpfs read-only ({remount.stderr.strip()})")
        yield workspace
    finally:
        _unmount(disk)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_says_the_workspace_is_read_only(read_only: Path, command: str) -> None:
    said = _said(recoup(*COMMANDS[command], workspace=read_only), command)
    assert str(read_only) in said, said
    assert "read-only" in said, said
    assert "--workspace" in said, said


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs: room for the demo workspace and a filler file."""
    folder = tmp_path / "disk"
    _mount(folder, "48M")
    try:
        yield folder
    finally:
        _unmount(folder)


def _fill(disk: Path, leave: int = 0) -> None:
    """Take the disk's free space but `leave` bytes (0: every last byte)."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        wanted = shutil.disk_usage(disk).free - leave
        while wanted > 0:
            wanted -= os.write(fd, b"\0" * min(wanted, 1 << 20))
        while leave == 0:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)


def _says_full(ran: Ran, workspace: Path) -> None:
    assert ran.code == 1, ran.text
    assert "no space left on device" in ran.err.lower(), ran.err
    assert str(workspace) in ran.err, ran.err
    assert len(ran.err.strip().splitlines()) == 1, ran.err


@pytest.mark.slow
def test_a_full_disk_during_the_audit_leaves_the_workspace_as_it_was(
    demo_workspace: Path, disk: Path
) -> None:
    workspace = _copy(demo_workspace, disk / "ws")
    before = _state(workspace)
    _fill(disk)
    _says_full(recoup(*COMMANDS["audit"], workspace=workspace), workspace)
    assert _state(workspace) == before  # it still opens, on the full disk, and holds the same
    (disk / "filler").unlink()
    assert _state(workspace) == before


@pytest.mark.slow
def test_a_full_disk_during_an_import_leaves_the_workspace_as_it_was(
    demo_workspace: Path, disk: Path
) -> None:
    workspace = _copy(demo_workspace, disk / "ws")
    report = _demo_report(demo_workspace, "ledger-detail-*.txt")
    fresh = disk.parent / "ledger-without-its-last-line.txt"  # new bytes, read in place
    fresh.write_text("".join(report.read_text().splitlines(keepends=True)[:-1]))
    before = _state(workspace)
    # Room for the raw copy, not for the rows in the database.
    _fill(disk, leave=fresh.stat().st_size + 128 * 1024)
    _says_full(recoup("import", fresh, "--account", "other", workspace=workspace), workspace)
    assert _state(workspace) == before
    (disk / "filler").unlink()
    assert _state(workspace) == before


# --- --output ---------------------------------------------------------------------------------

EXPORTS = {
    "findings": ("findings", "--account", "demo", "--format", "csv"),
    "claims export": ("claims", "export", "--account", "demo"),
}


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize(
    ("where", "reason"),
    [("missing/out.csv", "no such folder"), ("a-file/out.csv", "is a file, not a folder")],
)
def test_an_unwritable_output_names_the_path_and_why(
    demo_workspace: Path, tmp_path: Path, export: str, where: str, reason: str
) -> None:
    (tmp_path / "a-file").write_text("in the way")
    output = tmp_path / where
    ran = recoup(*EXPORTS[export], "--output", output, workspace=demo_workspace)
    assert ran.code == 1, ran.text
    assert str(output) in ran.err, ran.err
    assert reason in ran.err, ran.err
    assert len(ran.err.strip().splitlines()) == 1, ran.err


def test_an_output_on_a_read_only_disk(read_only: Path, demo_workspace: Path) -> None:
    """As root, a read-only mount stands in for a folder without write permission."""
    output = read_only.parent / "findings.csv"
    ran = recoup(*EXPORTS["findings"], "--output", output, workspace=demo_workspace)
    assert ran.code == 1, ran.text
    assert f"cannot write {output}" in ran.err, ran.err
    assert "read-only" in ran.err, ran.err


def test_an_output_that_is_a_folder_is_refused_by_the_option(
    demo_workspace: Path, tmp_path: Path
) -> None:
    ran = recoup(*EXPORTS["claims export"], "--output", tmp_path, workspace=demo_workspace)
    assert ran.code == 2, ran.text
    assert "is a directory" in ran.err, ran.err


# --- recoup doctor ----------------------------------------------------------------------------

NO_CREDENTIALS = {"RECOUP_SPAPI_CREDENTIALS": "", "RECOUP_WEB_PASSWORD": ""}


def test_doctor_finds_a_healthy_workspace_healthy_and_changes_nothing(
    demo_workspace: Path, tmp_path: Path
) -> None:
    database = demo_workspace / "recoup.duckdb"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    ran = recoup("doctor", workspace=demo_workspace, cwd=tmp_path, env=NO_CREDENTIALS)
    if shutil.disk_usage(demo_workspace).free < 2 * 1024**3:
        pytest.skip("this machine has little free disk space, which doctor rightly reports")
    assert ran.code == 0, ran.text
    assert "problem" not in ran.out, ran.out
    for check in ("workspace", "schema", "disk space", "DuckDB", "recoup.toml", "raw store"):
        assert check in ran.out, ran.out
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_doctor_names_a_credentials_file_others_can_read(
    demo_workspace: Path, tmp_path: Path
) -> None:
    credentials = tmp_path / "spapi.toml"
    credentials.write_text('client_id = "x"\n')
    credentials.chmod(0o644)
    ran = recoup("doctor", workspace=demo_workspace, cwd=tmp_path,
                 env={**NO_CREDENTIALS, "RECOUP_SPAPI_CREDENTIALS": str(credentials)})  # fmt: skip
    assert ran.code == 1, ran.text
    assert str(credentials) in ran.out, ran.out
    assert f"chmod 600 {credentials}" in ran.out, ran.out


def test_doctor_names_a_web_password_file_others_can_read(
    demo_workspace: Path, tmp_path: Path
) -> None:
    password = tmp_path / "web-password"
    password.write_text("s3cret\n")
    password.chmod(0o640)
    (tmp_path / "recoup.toml").write_text(f'[web]\npassword_file = "{password}"\n')
    ran = recoup("doctor", workspace=demo_workspace, cwd=tmp_path, env=NO_CREDENTIALS)
    assert ran.code == 1, ran.text
    assert f"chmod 600 {password}" in ran.out, ran.out


def test_doctor_names_a_bad_recoup_toml(demo_workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "recoup.toml").write_text('[web]\nport = "abc"\n')
    ran = recoup("doctor", workspace=demo_workspace, cwd=tmp_path, env=NO_CREDENTIALS)
    assert ran.code == 1, ran.text
    assert "recoup.toml line 2: web.port" in ran.out, ran.out
    assert "ok" in ran.out  # the workspace was still checked


def test_doctor_names_a_key_recoup_does_not_know(demo_workspace: Path, tmp_path: Path) -> None:
    """A misspelt key is silently ignored by the settings, so doctor is where it shows."""
    (tmp_path / "recoup.toml").write_text("[web]\nprot = 8001\n")
    ran = recoup("doctor", workspace=demo_workspace, cwd=tmp_path, env=NO_CREDENTIALS)
    assert ran.code == 1, ran.text
    assert "web.prot" in ran.out, ran.out


def test_doctor_names_a_missing_raw_file(demo_workspace: Path, tmp_path: Path) -> None:
    workspace = _copy(demo_workspace, tmp_path / "ws")
    lost = sorted((workspace / "raw").iterdir())[0]
    lost.unlink()
    ran = recoup("doctor", workspace=workspace, cwd=tmp_path, env=NO_CREDENTIALS)
    assert ran.code == 1, ran.text
    assert "raw store" in ran.out, ran.out
    assert lost.name in ran.out, ran.out


def test_doctor_on_a_folder_without_a_workspace(tmp_path: Path) -> None:
    ran = recoup("doctor", workspace=tmp_path / "nothing", cwd=tmp_path, env=NO_CREDENTIALS)
    assert ran.code == 1, ran.text
    assert f"no workspace at {tmp_path / 'nothing'}" in ran.out, ran.out
    assert not (tmp_path / "nothing").exists()  # doctor creates nothing


# --- the guard --------------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_asks_for_a_report(
    demo_workspace: Path, tmp_path: Path
) -> None:
    """export-lake does not yet say why it cannot make its folder (found while writing this):
    the guard's sentence stands in until it does."""
    (tmp_path / "a-file").write_text("in the way")
    ran = recoup("export-lake", tmp_path / "a-file/lake", workspace=demo_workspace)
    assert ran.code == 1, ran.text
    assert ran.err.startswith("Error: recoup hit an unexpected problem: "), ran.err
    assert "please report it with the command you ran" in ran.err, ran.err
    assert "RECOUP_DEBUG=1" in ran.err, ran.err
    assert len(ran.err.strip().splitlines()) == 1, ran.err


def test_recoup_debug_shows_the_traceback(demo_workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("in the way")
    done = subprocess.run(
        [sys.executable, "-m", "recoup", "--workspace", str(demo_workspace), "export-lake",
         str(tmp_path / "a-file/lake")],
        capture_output=True, text=True, env={**os.environ, "RECOUP_DEBUG": "1"}, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "NotADirectoryError" in done.stderr


def test_serve_refuses_a_port_out_of_range(demo_workspace: Path) -> None:
    """It reached the socket library, whose OverflowError uvicorn logged with a traceback."""
    ran = recoup("serve", "--port", "99999", workspace=demo_workspace)
    assert ran.code == 2, ran.text
    assert "99999 is not a port number (0-65535)" in ran.err, ran.err


def test_a_port_out_of_range_in_recoup_toml(tmp_path: Path) -> None:
    (tmp_path / "recoup.toml").write_text("[web]\nport = 99999\n")
    ran = recoup("serve", workspace=tmp_path / "ws", cwd=tmp_path)
    assert ran.code == 1, ran.text
    assert "recoup.toml line 2: web.port: expected less than or equal to 65535" in ran.err


def _group_raising(error: BaseException) -> click.Group:
    @click.group(cls=Recoup)
    def group() -> None:
        pass

    @group.command()
    def fail() -> None:
        raise error

    return group


def test_the_guard_turns_any_exception_into_one_line() -> None:
    result = CliRunner().invoke(_group_raising(ZeroDivisionError("division by zero")), ["fail"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: recoup hit an unexpected problem: ZeroDivisionError: division by zero - please "
        "report it with the command you ran (RECOUP_DEBUG=1 shows the details)\n"
    )


def test_an_interrupt_is_short_and_exits_130() -> None:
    result = CliRunner().invoke(_group_raising(KeyboardInterrupt()), ["fail"])
    assert result.exit_code == 130
    assert result.output == "interrupted\n"


def test_ctrl_c_mid_import_says_interrupted_and_keeps_the_workspace(tmp_path: Path) -> None:
    """A real SIGINT: DuckDB turns it into RuntimeError("Query interrupted") mid-query."""
    big = tmp_path / "big-ledger.tsv"
    big_ledger(big)
    workspace = tmp_path / "ws"
    running = subprocess.Popen(
        [sys.executable, "-m", "recoup", "--workspace", str(workspace), "import", str(big)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    raw = workspace / "raw"
    while not (raw.is_dir() and any(raw.iterdir())) and running.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)  # into the decode and load, which take seconds for this file
    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=120)
    assert "Traceback" not in out + err, err
    assert running.returncode == 130, out + err
    assert err.strip().splitlines()[-1] == "interrupted", err
    ran = recoup("status", "--format", "json", workspace=workspace)
    assert json.loads(ran.out)["ledger_detail"]["files"] == 0
    assert not any(raw.iterdir())  # the raw copy of the import that never committed is gone


def test_a_ctrl_c_a_library_swallowed_still_stops_the_next_commit() -> None:
    """DuckDB can drop a SIGINT that lands while it checks signals; recoup remembers it."""
    script = (
        "import os, signal\n"
        "from recoup import interrupts\n"
        "interrupts.install()\n"
        "interrupts.check()\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a call: the handler runs here\n"
        "except KeyboardInterrupt:\n"
        "    print('swallowed')\n"
        "interrupts.check()\n"
        "print('committed')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, timeout=60)  # fmt: skip
    assert done.stdout == "swallowed\n"
    assert done.returncode != 0
    assert "KeyboardInterrupt" in done.stderr


def test_a_swallowed_ctrl_c_stops_an_audit_before_it_stores_anything(tmp_path: Path) -> None:
    script = (
        "import datetime as dt, signal, sys\n"
        "from pathlib import Path\n"
        "from recoup import audit, interrupts\n"
        "from recoup.workspace import Workspace\n"
        "try:\n"
        "    interrupts.remember(signal.SIGINT, None)\n"
        "except KeyboardInterrupt:\n"
        "    pass  # as DuckDB would\n"
        "with Workspace(Path(sys.argv[1])) as ws:\n"
        "    try:\n"
        "        audit.store(ws.con, audit.Audit('shop', dt.date(2026, 1, 5), 'duckdb', []))\n"
        "    except KeyboardInterrupt:\n"
        "        print('stopped')\n"
        "    print(ws.con.execute('SELECT count(*) FROM audits').fetchone()[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ws")],
                          capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert done.stdout == "stopped\n0\n", done.stderr


def test_usage_errors_and_exits_pass_the_guard_untouched() -> None:
    assert CliRunner().invoke(_group_raising(SystemExit(3)), ["fail"]).exit_code == 3
    usage = CliRunner().invoke(_group_raising(click.UsageError("no such thing")), ["fail"])
    assert usage.exit_code == 2
    assert "no such thing" in usage.output


def test_status_json_still_reads_after_all_this(demo_workspace: Path) -> None:
    """The module's own workspace was only ever read."""
    ran = recoup("status", "--format", "json", workspace=demo_workspace)
    assert json.loads(ran.out)["ledger_detail"]["files"] > 0


def test_the_dashboard_shows_a_workspace_damaged_under_it(
    demo_workspace: Path, tmp_path: Path
) -> None:
    """`recoup serve` checks the workspace at start; one damaged while it runs is the same
    sentence on the page (503), not an internal server error."""
    from urllib.error import HTTPError  # noqa: PLC0415 - only this test reads pages
    from urllib.request import urlopen  # noqa: PLC0415

    from tests.web_server import serving  # noqa: PLC0415

    workspace = _copy(demo_workspace, tmp_path / "ws")
    with serving(workspace, tmp_path) as url:
        with urlopen(url + "/", timeout=30) as page:
            assert page.status == 200
        _garbage(workspace / "recoup.duckdb")
        with pytest.raises(HTTPError) as refused:
            urlopen(url + "/", timeout=30)
        body = refused.value.read().decode()
    assert refused.value.code == 503
    assert "damaged" in body or "not a recoup workspace" in body or "restore" in body, body
    assert "Traceback" not in body
