"""What the workspace holds: `recoup status` and the dashboard's Imports page say the same, also
when downloads overlap (rows and dates after the overlap is resolved, as the audit reads them)."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fastapi.testclient import TestClient

from recoup.cli import main
from recoup.settings import Settings
from recoup.web.app import create_app
from recoup.web.routes.imports import TITLES
from recoup.web.security import Guard
from tests.conftest import DATA, LEDGER_HEADER, tsv

ACCOUNT = "shop"


def ledger(path: Path, *days: str) -> Path:
    """A ledger export with one shipment of one unit on each day (MM/DD/YYYY)."""
    rows = [
        [day, "X001AAA111", "B0AAA11111", "MUG-RED", "Red Mug", "Shipments", "", "-1", "LGB3",
         "SELLABLE", "", "US", "", ""]
        for day in days
    ]  # fmt: skip
    path.write_text(tsv(LEDGER_HEADER, *rows), encoding="utf-8")
    return path


def cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--workspace", str(root), *args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def import_files(root: Path, *paths: Path, period: str | None = None) -> None:
    stated = ["--period", period] if period else []
    cli(root, "import", "--account", ACCOUNT, "--marketplace", "US", *stated, *map(str, paths))


def cli_status(root: Path) -> dict[str, dict[str, Any]]:
    """`recoup status --format json` for the account: the reports it holds anything of."""
    status = json.loads(cli(root, "status", "--format", "json", "--account", ACCOUNT))
    return {
        table: {k: entry[k] for k in ("files", "rows", "rejects", "first_date", "last_date")}
        for table, entry in status.items()
        if entry["files"] or entry["rows"]
    }


def _text(cell: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def dashboard_status(root: Path) -> dict[str, dict[str, Any]]:
    """The Imports page's "What the workspace holds" table, read back per canonical table."""
    app = create_app(root, Settings(account=ACCOUNT), Guard(password=None, loopback=True))
    with TestClient(app, base_url="http://localhost") as client:
        response = client.get("/imports")
    assert response.status_code == 200, response.text
    section = response.text.split("What the workspace holds", 1)[1].split("<h2>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    tables = {title: table for table, title in TITLES.items()}
    shown: dict[str, dict[str, Any]] = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL):
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        first, last = (part.strip() or None for part in cells[4].split("–"))
        shown[tables[cells[0]]] = {
            "files": int(cells[1]),
            "rows": int(cells[2].replace(",", "")),
            "rejects": int(cells[3]),
            "first_date": first,
            "last_date": last,
        }
    return shown


def test_overlapping_exports_count_once_in_status_and_on_the_imports_page(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    # Two ledger exports imported one after the other, overlapping on 10-12 March: the newer
    # export owns those days, so its 3 rows there replace the older one's 3.
    older = ledger(tmp_path / "march-a.tsv", *(f"03/{d:02d}/2025" for d in range(1, 13)))
    newer = ledger(tmp_path / "march-b.tsv", *(f"03/{d:02d}/2025" for d in range(10, 21)))
    import_files(root, older)
    import_files(root, newer)
    import_files(root, DATA / "reports" / "reimbursements" / "us_cp1252.tsv")

    cli_says = cli_status(root)
    assert cli_says["ledger_detail"] == {
        "files": 2, "rows": 20, "rejects": 0,
        "first_date": "2025-03-01", "last_date": "2025-03-20",
    }  # fmt: skip
    assert set(cli_says) == {"ledger_detail", "reimbursements"}
    assert dashboard_status(root) == cli_says


def test_a_stated_period_that_takes_older_days_shows_the_same_dates(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    older = ledger(tmp_path / "april.tsv", "04/01/2025", "04/05/2025", "04/10/2025")
    # A newer download of 28 March to 20 April: on 1 and 10 April nothing happened after all.
    newer = ledger(tmp_path / "spring.tsv", "04/05/2025", "04/12/2025")
    import_files(root, older)
    import_files(root, newer, period="2025-03-28..2025-04-20")

    cli_says = cli_status(root)
    assert cli_says == {
        "ledger_detail": {
            "files": 2, "rows": 2, "rejects": 0,
            "first_date": "2025-04-05", "last_date": "2025-04-12",
        }
    }  # fmt: skip
    assert dashboard_status(root) == cli_says
