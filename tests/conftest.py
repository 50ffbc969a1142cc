from collections.abc import Iterator
from pathlib import Path

import pytest

from recoup.workspace import Workspace

DATA = Path(__file__).parent / "data"
REAL_SETTLEMENTS = (
    Path(__file__).resolve().parents[2] / "shared/samples/real/settlement-v1-flat-file-amazon-ca"
)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace(tmp_path / "ws") as ws:
        yield ws


def tsv(*rows: list[str]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def count(ws: Workspace, sql: str) -> int:
    row = ws.con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])
