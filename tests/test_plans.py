"""The audit's compiled SQL kept between runs (recoup.plans): same findings, no recompiling, and
a fingerprint that tells apart any two expressions that could compile differently."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import pytest

from recoup import audit as auditing
from recoup.engines import duckdb_engine
from recoup.plans import Fingerprints, Plans, Uncacheable
from recoup.policy import load_policy
from recoup.simulate import SimConfig
from recoup.workspace import Workspace
from tests.conftest import small_account

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SimConfig(seed=8, months=3, scale=0.2, as_of=AS_OF)
    return small_account(tmp_path_factory.mktemp("plans"), config)


def audit(root: Path, plans: Plans, as_of: dt.date = AS_OF) -> list[dict[str, object]]:
    with Workspace(root) as ws:
        engine = duckdb_engine(ws.con, plans=plans)
        result = auditing.run(engine, "default", as_of, load_policy(), auditing.file_names(ws.con))
    return result.findings


@pytest.fixture(scope="module")
def compiled(root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plans, list[Any]]:
    """A first audit: every step compiled, and written to the plans file."""
    plans = Plans(tmp_path_factory.mktemp("plans") / "plans.json", AS_OF)
    found = audit(root, plans)
    assert found
    assert plans.misses > 20
    assert plans.hits == 0
    return plans, found


def test_a_second_audit_compiles_nothing_and_finds_the_same(
    root: Path, compiled: tuple[Plans, list[Any]]
) -> None:
    first, found = compiled
    assert first.path is not None
    again = Plans(first.path, AS_OF)  # a new process reads the file the first one wrote
    assert audit(root, again) == found
    assert again.misses == 0
    assert again.hits == first.misses


def test_another_as_of_is_another_plan(root: Path, compiled: tuple[Plans, list[Any]]) -> None:
    """The as-of is a literal in the steps that read it: those compile again; the steps that do
    not read it (most of the allocations) are reused, with the same findings as a fresh audit."""
    first, _found = compiled
    assert first.path is not None
    earlier = AS_OF - dt.timedelta(days=20)
    later = Plans(first.path, AS_OF)
    reference = Plans(None, AS_OF)
    assert audit(root, later, earlier) == audit(root, reference, earlier)
    assert 0 < later.misses < reference.misses
    assert later.hits == reference.misses - later.misses


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
