"""`recoup findings --format csv|json` streams the stored findings: the same bytes as writing
the loaded list in one go, a file only when the whole export was written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from recoup.cells import csv_text, text
from recoup.cli import main
from recoup.findings import COLUMNS, load
from recoup.simulate import SimConfig
from tests.conftest import audited_account

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SimConfig(seed=6, months=4, scale=0.2, as_of=AS_OF)
    return audited_account(tmp_path_factory.mktemp("export"), config, "shop")


def export(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--workspace", str(root), "findings", "--account", "shop",
                                       *args])  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def whole(root: Path) -> list[dict[str, object]]:
    con = duckdb.connect(str(root / "recoup.duckdb"), read_only=True)
    try:
        return load(con, "shop", AS_OF)
    finally:
        con.close()


def test_the_streamed_json_is_the_whole_list_dumped(audited: Path) -> None:
    rows = whole(audited)
    assert len(rows) > 20
    plain = [{c: r[c] if c in ("evidence", "quantity") else text(r[c]) for c in COLUMNS}
             for r in rows]  # fmt: skip
    assert export(audited, "--format", "json") == json.dumps(plain, indent=2,
                                                             ensure_ascii=False) + "\n"  # fmt: skip


def test_the_streamed_csv_is_the_whole_table_written(audited: Path) -> None:
    rows = whole(audited)
    expected = csv_text(COLUMNS, rows, lambda r, c: json.dumps(r[c]) if c == "evidence"
                        else text(r[c]))  # fmt: skip
    assert export(audited, "--format", "csv") == expected


def test_a_filter_with_nothing_in_it_is_an_empty_list(audited: Path) -> None:
    assert export(audited, "--format", "json", "--state", "unverified") == "[]\n"


def test_an_export_to_a_file_says_how_many_and_leaves_no_scraps(
    audited: Path, tmp_path: Path
) -> None:
    out = tmp_path / "findings.csv"
    said = export(audited, "--format", "csv", "--output", str(out))
    assert f"wrote {len(whole(audited))} findings to {out}" in said
    assert out.read_text(encoding="utf-8") == export(audited, "--format", "csv")
    assert [p.name for p in tmp_path.iterdir()] == ["findings.csv"]


def test_an_export_into_a_missing_folder_is_one_sentence(audited: Path, tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "findings.json"
    args = ["--workspace", str(audited), "findings", "--account", "shop", "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--output", str(out)])
    assert result.exit_code == 1
    assert "choose another --output path" in result.output
    assert "Traceback" not in result.output
    assert not out.parent.exists()
