"""What `recoup import` is given may be hostile: refused in one line naming it, never with a
traceback, a hang or a full disk (issue 20)."""

from __future__ import annotations

import contextlib
import gzip
import os
import resource
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from recoup.workspace import Workspace
from tests.cli_process import Ran, recoup
from tests.conftest import DATA

MiB = 1024 * 1024
REPORT = (DATA / "reports/reimbursements/us_cp1252.tsv").read_bytes()
NOT_A_REPORT = (DATA / "bad/not_a_report.csv").read_bytes()
QUICK = 30  # seconds: a hang fails the test instead of stalling the suite


@contextlib.contextmanager
def files_capped_at(limit: int) -> Iterator[None]:
    """No file this process or its children write meanwhile may grow past `limit` bytes: a
    child that tries is killed (SIGXFSZ), so filling the disk shows as a failed test, and
    never fills the test machine's disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def import_capped(workspace: Path, *paths: Path, limit: int = 32 * MiB) -> Ran:
    with files_capped_at(limit):
        return recoup("import", "--marketplace", "US", *paths, workspace=workspace, timeout=QUICK)


def reimbursements_of(size: int) -> bytes:
    """A real reimbursements report of about `size` bytes (one reimbursement id per row)."""
    header, row = REPORT.split(b"\n")[:2]
    rows = [row.replace(b"7912345678", str(n).encode()) for n in range(size // len(row))]
    return b"\n".join([header, *rows]) + b"\n"


def raw_files(workspace: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in (workspace / "raw").iterdir()}


def deflated(head: bytes, padding: int, pad: bytes = b"\0") -> tuple[bytes, int, int]:
    """`head` then `padding` bytes of `pad` as a raw deflate stream, with its CRC-32 and size.

    Deflating hundreds of MB takes seconds; a MiB of one byte deflated up to a full flush is a
    self-contained run of blocks, so repeating it writes the same stream in milliseconds."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    one_mib = pad * MiB
    block = compressor.compress(one_mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(padding // MiB):
        crc = zlib.crc32(one_mib, crc)
    end = compressor.flush()
    return start + block * (padding // MiB) + end, crc, len(head) + padding // MiB * MiB


def gzip_bomb(path: Path, head: bytes, padding: int, pad: bytes = b"\0") -> Path:
    packed, crc, size = deflated(head, padding, pad)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(header + packed + struct.pack("<LL", crc, size % 2**32))
    return path


def one_member_zip(
    path: Path, name: str, packed: bytes, crc: int, size: int, *, method: int = 8, flags: int = 0
) -> Path:
    """A zip of one member written by hand: zipfile cannot store bytes deflated elsewhere, nor
    write an encrypted member or one compressed by a method it does not know."""
    encoded = name.encode()
    flags |= 0x800  # the name is UTF-8
    common = struct.pack("<HHHHLLLH", flags, method, 0, 0x21, crc, len(packed), size, len(encoded))
    local = b"PK\x03\x04" + struct.pack("<H", 20) + common + struct.pack("<H", 0) + encoded
    central = (
        b"PK\x01\x02"
        + struct.pack("<HH", 20, 20)
        + common
        + struct.pack("<HHHHLL", 0, 0, 0, 0, 0, 0)
        + encoded
    )
    end = b"PK\x05\x06" + struct.pack("<HHHHLLH", 0, 0, 1, 1, len(central), len(local + packed), 0)
    path.write_bytes(local + packed + central + end)
    return path


def zip_bomb(path: Path, member: str, head: bytes, padding: int, pad: bytes = b"\0") -> Path:
    return one_member_zip(path, member, *deflated(head, padding, pad))


# -- 1. decompression bombs --------------------------------------------------------------------


def test_a_zip_member_of_zeros_is_refused_from_its_first_bytes(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "bomb.zip", "zeros.tsv", b"", 2048 * MiB)
    ran = import_capped(tmp_path / "ws", bomb)
    assert ran.code == 1
    assert f"{bomb}!zeros.tsv: not a report recoup knows" in ran.out
    assert raw_files(tmp_path / "ws") == {}


def test_a_gzip_of_zeros_is_refused_from_its_first_bytes(tmp_path: Path) -> None:
    bomb = gzip_bomb(tmp_path / "zeros.tsv.gz", b"", 1024 * MiB)
    ran = import_capped(tmp_path / "ws", bomb)
    assert ran.code == 1
    assert f"{bomb}: not a report recoup knows" in ran.out
    assert raw_files(tmp_path / "ws") == {}


@pytest.mark.parametrize("packing", ["zip", "gzip"])
def test_a_report_header_over_a_bomb_stops_at_the_ratio_limit(tmp_path: Path, packing: str) -> None:
    """A real header passes the first check; the blank lines after it must still not fill the
    disk."""
    if packing == "zip":
        bomb = zip_bomb(tmp_path / "bomb.zip", "reimbursements.tsv", REPORT, 512 * MiB, b"\n")
        name = f"{bomb}!reimbursements.tsv"
    else:
        bomb = gzip_bomb(tmp_path / "reimbursements.tsv.gz", REPORT, 512 * MiB, b"\n")
        name = str(bomb)
    ran = import_capped(tmp_path / "ws", bomb, limit=128 * MiB)
    assert ran.code == 1
    assert f"error {name}: unpacks to more than 100 MB from 5" in ran.out  # 512 MB deflated
    assert "over 100 times its packed size" in ran.out
    assert raw_files(tmp_path / "ws") == {}


def test_a_real_report_still_unpacks(tmp_path: Path) -> None:
    packed = tmp_path / "reimbursements.tsv.gz"
    packed.write_bytes(gzip.compress(REPORT))
    ran = import_capped(tmp_path / "ws", packed)
    assert ran.code == 0, ran.text
    assert len(raw_files(tmp_path / "ws")) == 1


# -- 2. archives -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "method", "problem"),
    [
        (0x1, 8, "is encrypted (password-protected)"),
        (0x0, 9, "compressed with Deflate64"),
        (0x0, 99, "compressed with method 99"),
    ],
)
def test_a_member_zip_cannot_open_is_one_line(
    tmp_path: Path, flags: int, method: int, problem: str
) -> None:
    archive = one_member_zip(
        tmp_path / "reports.zip", "returns.tsv", REPORT, zlib.crc32(REPORT), len(REPORT),
        method=method, flags=flags,
    )  # fmt: skip
    ran = import_capped(tmp_path / "ws", archive)
    assert ran.code == 1
    (line,) = [ln for ln in ran.out.splitlines() if "returns.tsv" in ln]
    assert line.startswith(f"error {archive}!returns.tsv: ")
    assert problem in line


def test_an_empty_zip_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("__MACOSX/._report.tsv", b"resource fork")
    zipfile.ZipFile(tmp_path / "nothing.zip", "w").close()
    ran = import_capped(tmp_path / "ws", empty, tmp_path / "nothing.zip")
    assert ran.code == 1
    assert f"{empty}: no reports found in it" in ran.out
    assert f"{tmp_path / 'nothing.zip'}: no reports found in it" in ran.out


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / ".DS_Store").write_bytes(b"\0")
    ran = import_capped(tmp_path / "ws", folder)
    assert ran.code == 1
    assert f"{folder}: no reports found in it" in ran.out
    assert "No files found" not in ran.out


# -- 3. pipes and devices ----------------------------------------------------------------------


def test_a_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "report.tsv"
    os.mkfifo(pipe)
    ran = import_capped(tmp_path / "ws", pipe)
    assert ran.code == 1
    assert f"{pipe}: not a regular file (a named pipe)" in ran.out


def test_a_device_is_refused_not_copied_until_the_disk_is_full(tmp_path: Path) -> None:
    ran = import_capped(tmp_path / "ws", Path("/dev/zero"))
    assert ran.code == 1
    assert "/dev/zero: not a regular file (a device)" in ran.out
    assert raw_files(tmp_path / "ws") == {}


def test_a_pipe_inside_a_folder_is_named_and_the_rest_imported(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "reimbursements.tsv").write_bytes(REPORT)
    os.mkfifo(folder / "pipe.tsv")
    ran = import_capped(tmp_path / "ws", folder)
    assert ran.code == 1
    assert f"{folder / 'pipe.tsv'}: not a regular file (a named pipe)" in ran.out
    assert "reimbursements" in ran.out  # the table of what was imported
    assert len(raw_files(tmp_path / "ws")) == 1


# -- 4. names that are not plain text ----------------------------------------------------------


def test_names_with_rich_markup_are_printed_as_they_are(tmp_path: Path) -> None:
    not_a_report = tmp_path / "[/]contacts.csv"  # a file `]contacts.csv` in a folder `[`
    not_a_report.parent.mkdir()
    not_a_report.write_bytes(NOT_A_REPORT)
    with_rejects = tmp_path / "[red]x[/red].tsv"
    with_rejects.parent.mkdir()
    shutil.copy(DATA / "bad/too_few_fields.tsv", with_rejects)
    ran = import_capped(tmp_path / "ws", not_a_report, with_rejects)
    assert ran.code == 1
    assert f"error {not_a_report}: not a report recoup knows" in ran.out
    assert f"3 row(s) of {with_rejects} could not be read" in ran.out


def test_the_progress_bar_shows_a_name_with_markup_as_it_is(tmp_path: Path) -> None:
    large = tmp_path / "[bold]large.tsv"
    large.write_bytes(reimbursements_of(2 * MiB))
    with files_capped_at(32 * MiB):  # a terminal, so that the bar is drawn (on stderr)
        ran = recoup("import", large, workspace=tmp_path / "ws", env={"FORCE_COLOR": "1"})
    assert ran.code == 0, ran.text
    assert "[bold]large.tsv" in ran.err


def test_control_characters_in_a_member_name_are_shown_escaped(tmp_path: Path) -> None:
    archive = tmp_path / "reports.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("\x1b[31mred.txt", NOT_A_REPORT)
        zf.writestr("two\nlines.txt", NOT_A_REPORT)
    ran = import_capped(tmp_path / "ws", archive)
    assert ran.code == 1
    assert "\x1b" not in ran.text
    assert f"error {archive}!\\x1b[31mred.txt: not a report" in ran.out
    assert f"error {archive}!two\\nlines.txt: not a report" in ran.out


# -- 5. a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs: room for a workspace's database, not for much more."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"filling a disk needs a small tmpfs, and mounting one failed (not root?): "
                    f"{mounted.stderr.strip()}")  # fmt: skip
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


def test_a_full_disk_says_so_and_leaves_the_workspace_as_it_was(
    tmp_path: Path, small_disk: Path
) -> None:
    workspace = small_disk / "ws"
    Workspace(workspace).close()
    report = tmp_path / "reimbursements.tsv"
    report.write_bytes(reimbursements_of(4 * MiB))
    free = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(bytes(free.f_bavail * free.f_frsize - MiB))
    ran = recoup("import", report, workspace=workspace, timeout=QUICK)
    assert ran.code == 1
    assert f"error {report}: no space left on device in {workspace / 'raw'}" in ran.out
    assert raw_files(workspace) == {}
    with duckdb.connect(str(workspace / "recoup.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM source_files").fetchone() == (0,)
