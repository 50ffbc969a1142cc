import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from recoup.cli import main
from recoup.plans import FOLDER_ENV
from recoup.reports.ledger import LEDGER_DETAIL
from recoup.simulate import SimConfig, simulate
from recoup.workspace import Workspace

DATA = Path(__file__).parent / "data"
REAL_SETTLEMENTS = (
    Path(__file__).resolve().parents[2] / "shared/samples/real/settlement-v1-flat-file-amazon-ca"
)


LONG = ("spark", "browser", "slow")  # markers of the tests that take longest


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the order and the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that opens Chromium must say so (`make test-fast` leaves browser tests out). On
    several workers (pytest-xdist) the longest tests start first, so none of them is left
    running alone at the end."""
    unmarked = [
        item.nodeid
        for item in items
        if "browser" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("browser") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests driving Chromium need @pytest.mark.browser: " + ", ".join(unmarked)
        )
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: every worker sorts alike
        items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in LONG))


@pytest.fixture(scope="session", autouse=True)
def shared_plans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The audits of all tests (every worker, every `recoup` process they start) share one cache
    of compiled SQL (recoup.plans): most audit the same as-of with the same rules, so each
    expression compiles once per run rather than once per test."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if base.name.startswith("popen-gw") else base) / "plans"
    os.environ[FOLDER_ENV] = str(folder)
    yield
    os.environ.pop(FOLDER_ENV, None)


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


# The ledger header as Amazon prints it, without `Date and Time` and `Store` (15 columns: EU).
LEDGER_HEADER = [c.sources[0] for c in LEDGER_DETAIL.columns][:14]


BIG_LEDGER_ROWS = 300_000


def big_ledger(path: Path) -> None:
    """A ledger long enough that an import can be interrupted in the middle of it."""
    rows = [LEDGER_HEADER[:12]]
    for i in range(BIG_LEDGER_ROWS):
        day = 1 + i % 28
        rows.append(
            [
                f"03/{day:02d}/2026",
                f"X00{i % 997:07d}",
                "B0AAA11111",
                f"SKU-{i % 997}",
                "Mug",
                "Shipments",
                "",
                "-1",
                "LGB3",
                "SELLABLE",
                "",
                "US",
            ]
        )
    path.write_text(tsv(*rows))


def audited_account(base: Path, config: SimConfig, account: str) -> Path:
    """`small_account`, audited as of its simulation's as-of date: its workspace folder."""
    root = small_account(base, config, account)
    audit = ["--workspace", str(root), "audit", "--account", account, "--as-of", str(config.as_of)]
    result = CliRunner().invoke(main, audit)
    assert result.exit_code == 0, result.output
    return root


def small_account(
    base: Path, config: SimConfig, account: str = "default", root: Path | None = None
) -> Path:
    """A simulated account (US), imported with `recoup import` into `root` (else `base/ws`): the
    workspace folder."""
    simulated = simulate(config, base / f"files-{account}")
    root = root or base / "ws"
    files = [str(path) for path in simulated.reports]
    result = CliRunner().invoke(
        main, ["--workspace", str(root), "import", "--account", account, "--marketplace", "US",
               *files],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root
