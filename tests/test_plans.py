"""The audit's compiled SQL kept between runs (recoup.plans): same findings, no recompiling, and
a fingerprint that tells apart any two expressions that could compile differently."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pytest

from recoup import audit as auditing
from recoup.engines import Engine, duckdb_engine
from recoup.plans import Fingerprints, Plans, Uncacheable
from recoup.policy import load_policy
from recoup.simulate import SimConfig
from recoup.workspace import Workspace
from tests.conftest import small_account

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two accounts in one workspace: `default`, and `other` (another seller's files)."""
    base = tmp_path_factory.mktemp("plans")
    root = small_account(base, SimConfig(seed=8, months=3, scale=0.2, as_of=AS_OF))
    other = SimConfig(seed=9, months=2, scale=0.2, as_of=AS_OF)
    assert small_account(base, other, "other", root) == root
    return root


def audit(
    root: Path,
    plans: Plans,
    as_of: dt.date = AS_OF,
    account: str = "default",
    engines: list[Engine] | None = None,
) -> list[dict[str, object]]:
    """The findings; the engine that found them is added to `engines`."""
    with Workspace(root) as ws:
        engine = duckdb_engine(ws.con, plans=plans)
        result = auditing.run(engine, account, as_of, load_policy(), auditing.file_names(ws.con))
    if engines is not None:
        engines.append(engine)
    return result.findings


def built(engine: Engine) -> bool:
    """Whether the audit built Ibis expressions: only that loads Ibis' DuckDB backend."""
    return "backend" in vars(engine)


@pytest.fixture(scope="module")
def compiled(root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plans, list[Any]]:
    """A first audit: every step compiled, and written to the plans file."""
    plans = Plans(tmp_path_factory.mktemp("plans") / "plans.json", AS_OF)
    found = audit(root, plans)
    assert found
    assert plans.misses > 20
    assert plans.hits == 0
    return plans, found


def test_a_second_audit_replays_the_first_and_finds_the_same(
    root: Path, compiled: tuple[Plans, list[Any]]
) -> None:
    """Nothing built, nothing compiled: the steps of the first audit, run again."""
    first, found = compiled
    assert first.path is not None
    again = Plans(first.path, AS_OF)  # a new process reads the file the first one wrote
    engines: list[Engine] = []
    assert audit(root, again, engines=engines) == found
    assert not built(engines[0])
    assert again.misses == 0
    assert again.hits > 20


def _traces(path: Path) -> dict[str, Any]:
    return {k: v for k, v in json.loads(path.read_text()).items() if k.startswith("trace:")}


def _rewrite(source: Path, target: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(source.read_text())
    for key in _traces(source):
        for step in data[key]["trace"]:
            change(step)
    target.write_text(json.dumps(data))


def test_when_the_data_decides_otherwise_the_replay_gives_way(
    root: Path, compiled: tuple[Plans, list[Any]], tmp_path: Path
) -> None:
    """A trace records the values that chose its steps (a count, the FIFO rounds). When the
    data no longer gives those values, the audit builds its rules as on the first day."""
    first, found = compiled
    assert first.path is not None
    decided = [s for t in _traces(first.path).values() for s in t["trace"] if "value" in s]
    assert decided  # this account's audit reads values to choose its steps

    def other_value(step: dict[str, Any]) -> None:
        if "value" in step:
            step["is"] = -1 if step["is"] != -1 else -2

    _rewrite(first.path, tmp_path / "plans.json", other_value)
    engines: list[Engine] = []
    assert audit(root, Plans(tmp_path / "plans.json", AS_OF), engines=engines) == found
    assert built(engines[0])


def test_a_trace_naming_a_lost_plan_gives_way(
    root: Path, compiled: tuple[Plans, list[Any]], tmp_path: Path
) -> None:
    first, found = compiled
    assert first.path is not None

    def lost(step: dict[str, Any]) -> None:
        if "plan" in step:
            step["plan"] = "0" * 64

    _rewrite(first.path, tmp_path / "plans.json", lost)
    engines: list[Engine] = []
    assert audit(root, Plans(tmp_path / "plans.json", AS_OF), engines=engines) == found
    assert built(engines[0])


def reaudit(
    root: Path, compiled: tuple[Plans, list[Any]], account: str, as_of: dt.date
) -> tuple[Plans, Plans]:
    """Audit `account` at `as_of` with the first audit's plans and with none: (reused, fresh)
    after checking both find the same, and not what the first audit found."""
    first, found = compiled
    assert first.path is not None
    reused = Plans(first.path, AS_OF)
    fresh = Plans(None, AS_OF)
    expected = audit(root, fresh, as_of, account)
    assert expected
    assert expected != found
    assert audit(root, reused, as_of, account) == expected
    return reused, fresh


@pytest.mark.parametrize("days", [20, 45])
def test_another_day_compiles_nothing(
    root: Path, compiled: tuple[Plans, list[Any]], days: int
) -> None:
    """The as-of is a session variable, not a literal: tomorrow's audit runs the plans
    already compiled (replayed, or built again where the day's data decides other steps)."""
    reused, _fresh = reaudit(root, compiled, "default", AS_OF - dt.timedelta(days=days))
    assert reused.misses == 0


def test_another_account_reuses_the_plans_its_data_allows(
    root: Path, compiled: tuple[Plans, list[Any]]
) -> None:
    """The account is a session variable too. Another account shares every step up to where
    its data changes the shape of the work (how many FIFO rounds its cancellers need); each
    step is named by what it holds, so those after the change are found again."""
    reused, fresh = reaudit(root, compiled, "other", AS_OF)
    assert reused.hits >= fresh.misses / 3
    assert 0 < reused.misses < fresh.misses


def test_a_damaged_cache_is_ignored_and_replaced(
    root: Path, compiled: tuple[Plans, list[Any]], tmp_path: Path
) -> None:
    path = tmp_path / "plans.json"
    path.write_text('{"x": {"sql": ["DROP TABLE claims"], "used": 3}, "y": [', encoding="utf-8")
    plans = Plans(path, AS_OF)
    assert audit(root, plans) == compiled[1]
    assert plans.hits == 0
    assert Plans(path, AS_OF).get("x") is None


def test_fingerprints_see_every_literal_type_and_name() -> None:
    t = ibis.table({"account": "string", "day": "date", "qty": "int64"}, name="ledger")
    fingerprints = Fingerprints()

    def query(account: str, day: dt.date, name: str = "ledger") -> ibis.Table:
        u = ibis.table({"account": "string", "day": "date", "qty": "int64"}, name=name)
        return u.filter((u.account == account) & (u.day <= day)).select("qty")

    same = fingerprints.of(query("a", AS_OF))
    assert Fingerprints().of(query("a", AS_OF)) == same  # stable, also in another walk
    assert fingerprints.of(query("b", AS_OF)) != same
    assert fingerprints.of(query("a", AS_OF - dt.timedelta(days=1))) != same
    assert fingerprints.of(query("a", AS_OF, "other")) != same
    assert fingerprints.of(t.select(t.qty.cast("int32"))) != fingerprints.of(t.select("qty"))
    with pytest.raises(Uncacheable):
        fingerprints.of(ibis.memtable({"qty": [1, 2]}))


@pytest.mark.parametrize("read_past_the_engine", [False, True])
def test_data_read_past_the_engine_is_never_replayed(
    tmp_path: Path, read_past_the_engine: bool
) -> None:
    """A rule that reads data through Ibis itself (not `ctx.execute`) may let it choose the
    steps, and a trace would not check it: such an audit is not recorded."""
    with Workspace(tmp_path / "ws") as ws:
        plans = Plans(tmp_path / "plans.json", AS_OF)
        engine = duckdb_engine(ws.con, plans=plans)
        engine.record("key")
        claims = engine.cache(engine.source("claims"))
        if read_past_the_engine:
            assert claims.count().execute() == 0
        assert engine.rows(claims) == []
        engine.release()
    assert (plans.trace("key") is None) == read_past_the_engine
