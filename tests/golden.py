"""Golden files: every fixture report in tests/data/reports and the canonical rows it becomes.

Each input `tests/data/reports/<dir>/<file>` has `tests/golden/<dir>/<file>.json` holding the
rows it put in every canonical table (and its rejects). After an intended change, regenerate
them with `make golden` (python -m tests.golden --regenerate) and review the diff.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from recoup.ingest import import_paths
from recoup.workspace import Workspace

DATA = Path(__file__).parent / "data" / "reports"
GOLDEN = Path(__file__).parent / "golden"

# Reports that do not name their marketplace are imported with this one.
MARKETPLACE_BY_FILE = {
    "customer_returns/jp_cp932.tsv": "JP",
    "fee_preview/eu_de.tsv": "DE",
}


def fixtures() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.is_file())


def golden_path(fixture: Path) -> Path:
    return GOLDEN / fixture.relative_to(DATA).with_name(fixture.name + ".json")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def canonical_rows(fixture: Path) -> dict[str, Any]:
    """Import one fixture into a fresh workspace and return everything it stored."""
    relative = fixture.relative_to(DATA).as_posix()
    with tempfile.TemporaryDirectory() as folder, Workspace(Path(folder)) as workspace:
        (result,) = import_paths(
            workspace, [fixture], marketplace=MARKETPLACE_BY_FILE.get(relative, "US")
        )
        out: dict[str, Any] = {
            "status": result.status,
            "report": result.report,
            "encoding": result.encoding,
            "problem": result.problem,
            "warnings": result.warnings,
            "tables": {},
        }
        tables = [
            row[0]
            for row in workspace.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%\\_rows' "
                "ESCAPE '\\' ORDER BY 1"
            ).fetchall()
        ]
        for table in [*tables, "rejects"]:
            cursor = workspace.con.execute(f"SELECT * EXCLUDE (file_id) FROM {table} ORDER BY ALL")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, map(_plain, row), strict=True)) for row in cursor.fetchall()]
            if rows:
                out["tables"][table] = rows
        return out


def main(argv: list[str]) -> int:
    if "--regenerate" not in argv:
        print("usage: python -m tests.golden --regenerate")
        return 2
    for fixture in fixtures():
        target = golden_path(fixture)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(canonical_rows(fixture), indent=1, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
