"""A finding kind is one folder of declarations: the registries read them, nothing lists kinds
by hand.

A toy rule package, written here the way a seller's or an agency's would be (a package of rule
modules with its `windows.toml` and `templates/`, and an entry point in the `recoup.rules`
group), is picked up by the audit, the claims and the dashboard with no other edit. The
declarations of recoup's own kinds are checked too: every table a rule reads is declared (and an
undeclared one refused), every kind has window rows, a form and a template.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from recoup import audit as auditing
from recoup import rules
from recoup.claims import drafts, store
from recoup.claims.forms import forms
from recoup.cli import main
from recoup.engines import ALL_TABLES, Engine, duckdb_engine
from recoup.lake import export_lake
from recoup.policy import PolicyError, load_policy
from recoup.rules import KINDS, RULES, valuation
from recoup.rules.context import Context, UndeclaredTable
from recoup.settings import AuditSettings, Settings
from recoup.web.app import create_app
from recoup.web.security import Guard
from recoup.workspace import Workspace
from tests.conftest import DATA

# The toy package's workspace is built once per module: its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("kinds")

ACCOUNT = "shop"
AS_OF = dt.date(2025, 6, 30)
TOY = "fee_over_half_price"
SOURCE = Path(__file__).resolve().parents[1] / "src" / "recoup"

# -- the toy rule package, as its author would write it -------------------------------------

TOY_RULE = '''"""FBA fees above half the item's price (`fee_over_half_price`, a toy kind).

What it finds: fee preview rows whose estimated fee total is more than half your price. Owed:
the fee above that half. Window: 90 days from the audit.
"""

import ibis.expr.types as ir

from recoup.rules.context import Context, contributions
from recoup.rules.kind import Form

KIND = "fee_over_half_price"
NEEDS = ("fee_preview",)


def find(ctx: Context) -> ir.Table:
    fees = ctx.table("fee_preview")
    half = fees.your_price / 2
    over = fees.filter(fees.estimated_fee_total > half)
    return contributions(
        over, kind=KIND, marketplace=over.marketplace, fnsku=over.fnsku, msku=over.sku,
        asin=over.asin, event_date=ctx.as_of_value, quantity=0, value_basis="fee_difference",
        money=over.estimated_fee_total - half, money_units=0, report="fee_preview",
        file_id=over.file_id, line=over.line,
    )


FORM = Form(
    title="FBA fee above half the price",
    group_by="fnsku",
    line_id="fnsku",
    line_label="FNSKU",
    file_at="Contact Us > Fulfillment by Amazon > FBA fees",
    policy="A toy policy: fees never above half the price",
    attach=("the fee preview row (CSV)",),
    expected="",
    accounted="",
    settle_by="amount",
    pays=("FeeCorrection",),
    match_on="fnsku",
)
'''

TOY_WINDOWS = """[[windows]]
kind = "fee_over_half_price"
group = "*"
effective_from = 2015-01-01
opens_after = "0d"
closes_after = "90d"
source = "a toy window"
"""

TOY_TEMPLATE = """{% extends "claim.txt" %}
{% block about %}FNSKU {{ fnskus|join(", ") }}, fees above half the price{% endblock %}
{% block says %}
The fee preview charges FNSKU {{ fnskus|join(", ") }} more than half of its price.
{% endblock %}
{% block ask %}
Please refund the {{ amount }} above half the price.
{% endblock %}
"""


def write_toy_package(site: Path) -> Path:
    """`acme_rules` under `site`, installed there as pip would (a dist-info with the entry
    point), so that putting `site` on the path installs it."""
    package = site / "acme_rules"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Acme\'s own finding kinds."""\n', encoding="utf-8")
    (package / f"{TOY}.py").write_text(TOY_RULE, encoding="utf-8")
    (package / "windows.toml").write_text(TOY_WINDOWS, encoding="utf-8")
    (package / "templates" / f"{TOY}.txt").write_text(TOY_TEMPLATE, encoding="utf-8")
    info = site / "acme_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[recoup.rules]\nacme = acme_rules\n")
    return site


@dataclass
class Toy:
    site: Path
    root: Path  # a workspace with the fee preview imported, audited and its claims drafted
    audit: auditing.Audit


def _forget(added: list[rules.Rule]) -> None:
    """Leave the registry and the imported modules as they were, for the tests that follow."""
    for rule in added:
        rules.unregister(rule.kind)
    for name in [m for m in sys.modules if m == "acme_rules" or m.startswith("acme_rules.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toy]:
    folder = tmp_path_factory.mktemp("kinds")
    site = write_toy_package(folder / "site")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        added = rules.discover()  # what recoup does on first use in a process: entry points
        try:
            assert [r.kind for r in added] == [TOY]
            root = folder / "ws"
            fees = DATA / "reports" / "fee_preview" / "na_cp1252.tsv"
            cli(root, "import", "--account", ACCOUNT, "--marketplace", "US", str(fees))
            with Workspace(root) as ws:
                found, _updated = auditing.audit_and_claims(
                    ws, Settings(account=ACCOUNT), ACCOUNT, AS_OF
                )
            yield Toy(site, root, found)
        finally:
            _forget(added)
    assert TOY not in KINDS


def cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--workspace", str(root), *args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


# -- a new kind needs no other edit -----------------------------------------------------------


def test_the_audit_runs_a_kind_from_a_rule_package(toy: Toy) -> None:
    assert KINDS[-1] == TOY  # it declares no ORDER: listed after recoup's own kinds
    assert TOY not in toy.audit.skipped  # its table is checked and read, not "not imported"
    [finding] = [f for f in toy.audit.findings if f["kind"] == TOY]
    assert (finding["msku"], finding["fnsku"]) == ("MUG-RED", "X001AAA111")
    assert finding["amount"] == Decimal("0.10")  # 10.10 of fees on a 20.00 price
    assert finding["state"] == "claimable"
    assert (finding["window_opens"], finding["window_closes"]) == (
        AS_OF, AS_OF + dt.timedelta(days=90),
    )  # fmt: skip
    assert finding["evidence"] == [{"report": "fee_preview", "file": "na_cp1252.tsv", "line": 2}]


def test_its_claim_is_drafted_from_its_form_and_template(toy: Toy) -> None:
    with Workspace(toy.root) as ws:
        [claim] = store.claims(ws.con, ACCOUNT, kinds=(TOY,))
        text = drafts.render(ws.con, claim["claim_id"], load_policy(), AS_OF, toy.root).text
    assert text.startswith("Subject: FBA fee above half the price: FNSKU X001AAA111, fees above")
    assert "The fee preview charges FNSKU X001AAA111 more than half of its price." in text
    assert "0-90-day window" in text  # the window rows shipped beside the rule
    assert "Where to file: Contact Us > Fulfillment by Amazon > FBA fees." in text
    assert "Please refund the 0.10 USD above half the price." in text


def test_its_template_is_the_sellers_to_edit(toy: Toy, tmp_path: Path) -> None:
    assert drafts.shipped_templates()[f"{TOY}.txt"] == TOY_TEMPLATE  # `recoup claims templates`
    mine = tmp_path / drafts.USER_TEMPLATES / f"{TOY}.txt"
    mine.parent.mkdir()
    mine.write_text(TOY_TEMPLATE.replace("Please refund", "Kindly refund"), encoding="utf-8")
    with Workspace(toy.root) as ws:
        [claim] = store.claims(ws.con, ACCOUNT, kinds=(TOY,))
        text = drafts.render(ws.con, claim["claim_id"], load_policy(), AS_OF, tmp_path).text
    assert "Kindly refund the 0.10 USD" in text


def test_the_dashboard_lists_the_kind(toy: Toy) -> None:
    app = create_app(toy.root, Settings(account=ACCOUNT), Guard(password=None, loopback=True))
    with TestClient(app, base_url="http://localhost") as client:
        page = client.get("/findings", params={"kind": TOY})
        assert page.status_code == 200, page.text
        with Workspace(toy.root) as ws:
            [claim] = store.claims(ws.con, ACCOUNT, kinds=(TOY,))
        case = client.get(f"/claims/{claim['claim_id']}/case.txt")
    assert f'<option value="{TOY}" selected>FBA fee above half the price</option>' in page.text
    assert "FBA fees above half the item&#39;s price" in page.text  # the rule's summary line
    assert "MUG-RED" in page.text
    assert case.status_code == 200
    assert "more than half of its price" in case.text


def test_an_installed_rule_package_is_found_by_a_fresh_process(toy: Toy) -> None:
    """What a seller does: install the package; every command then knows the kind."""
    path = os.pathsep.join([str(toy.site), *sys.path])
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUP_")}
    found = subprocess.run(
        [sys.executable, "-m", "recoup", "--workspace", str(toy.root), "findings",
         "--account", ACCOUNT, "--kind", TOY, "--format", "json"],
        env={**env, "PYTHONPATH": path}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert [f["kind"] for f in json.loads(found.stdout)] == [TOY]


def test_the_lake_holds_every_table_a_rule_reads(toy: Toy, tmp_path: Path) -> None:
    tables = auditing.audit_tables()
    assert "fee_preview" in tables  # the toy declares it
    assert set(tables) <= set(ALL_TABLES)
    with Workspace(toy.root) as ws:
        counts = export_lake(ws.con, tmp_path / "lake")
    assert set(tables) <= set(counts)
    assert counts["fee_preview"] == 2
    assert (tmp_path / "lake" / "fee_preview" / "part-0.parquet").is_file()


# -- the declarations of recoup's own kinds ---------------------------------------------------


def own_rules() -> list[rules.Rule]:
    return [r for r in RULES if r.own]


def test_kinds_are_discovered_in_their_declared_order() -> None:
    assert [r.kind for r in own_rules()] == [
        "warehouse_lost", "warehouse_damaged", "disposed_unauthorized", "return_not_received",
        "return_damaged_by_amazon", "inbound_shortage", "removal_short",
        "reimbursement_underpaid", "reversal_unmatched", "refund_overcharge",
    ]  # fmt: skip
    assert list(forms())[: len(own_rules())] == [r.kind for r in own_rules()]


def _reading(ws: Workspace) -> tuple[Context, Engine]:
    """A fresh audit context on an empty workspace where every table counts as imported, so
    that each rule takes every branch that reads a table, and computes every shared allocation
    itself."""
    engine = duckdb_engine(ws.con)
    ctx = Context(
        source=engine.source, account=ACCOUNT, as_of=AS_OF, policy=load_policy(),
        cache=engine.cache, execute=engine.execute, available=frozenset(ALL_TABLES),
    )  # fmt: skip
    return ctx, engine


@pytest.mark.parametrize("kind", [r.kind for r in own_rules()])
def test_a_rule_reads_only_the_tables_it_declares(tmp_path: Path, kind: str) -> None:
    rule = rules.rule(kind)
    with Workspace(tmp_path / "ws") as ws:
        ctx, engine = _reading(ws)
        try:
            found = rule.find(ctx.for_rule(kind, rule.tables))
            valuation.valued(ctx.for_rule("valuation", valuation.READS), found)
        finally:
            engine.release()
    assert set(rule.tables) <= set(auditing.audit_tables())


def test_a_table_left_out_of_the_declarations_is_refused(tmp_path: Path) -> None:
    lost = rules.rule("warehouse_lost")
    assert "reimbursements" in lost.reads
    with Workspace(tmp_path / "ws") as ws:
        ctx, engine = _reading(ws)
        try:
            undeclared = tuple(t for t in lost.tables if t != "reimbursements")
            with pytest.raises(UndeclaredTable, match="warehouse_lost reads reimbursements"):
                lost.find(ctx.for_rule(lost.kind, undeclared))
            # Also when another rule has already computed the allocation that reads it.
            disposed = rules.rule("disposed_unauthorized")
            disposed.find(ctx.for_rule(disposed.kind, disposed.tables))
            damaged = rules.rule("warehouse_damaged")
            undeclared = tuple(t for t in damaged.tables if t != "customer_returns")
            with pytest.raises(UndeclaredTable, match="warehouse_damaged reads customer_returns"):
                damaged.find(ctx.for_rule(damaged.kind, undeclared))
        finally:
            engine.release()


def test_every_kind_has_window_rows_in_windows_toml() -> None:
    text = (SOURCE / "policy" / "windows.toml").read_text(encoding="utf-8")
    rows = tomllib.loads(text)["windows"]
    shipped = {k for r in rows for k in (r["kind"] if isinstance(r["kind"], list) else [r["kind"]])}
    for rule in own_rules():
        assert set(rule.windows) <= shipped, rule.kind
    assert rules.rule("removal_short").windows == ("removal_short", "removal_short_receipt")


def test_rule_docstrings_leave_the_windows_to_the_data() -> None:
    """Windows change by date and marketplace; a docstring quoting them goes stale, so it says
    where the clock starts and leaves the numbers to windows.toml (the Settings page)."""
    for rule in own_rules():
        doc = sys.modules[rule.find.__module__].__doc__ or ""
        said = doc[doc.find("Window") :] if "Window" in doc else ""
        sentence = said.split(". ")[0]
        assert not re.search(r"\d+ (days|months)|since 20\d\d", sentence), (rule.kind, sentence)


def test_a_kind_without_window_rows_is_named_when_the_policy_loads() -> None:
    stray = _module("acme_stray", "stray_kind")
    rules.register(stray)
    try:
        with pytest.raises(PolicyError, match="finding kind stray_kind has no claim window rows"):
            load_policy()
        load_policy([{"kind": "stray_kind", "group": "*", "effective_from": "2015-01-01",
                      "opens_after": "0d", "closes_after": "60d"}])  # fmt: skip
    finally:
        rules.unregister("stray_kind")
    load_policy()


def test_every_kind_has_a_form_and_a_template() -> None:
    for rule in own_rules():
        assert rule.form.kind == rule.kind
        assert (SOURCE / "claims" / "templates" / f"{rule.kind}.txt").is_file(), rule.kind


def test_a_rule_module_missing_a_declaration_is_refused() -> None:
    broken = _module("acme_broken", "broken_kind")
    del broken.FORM
    missing = r"acme_broken \(kind broken_kind\): declares no FORM"
    with pytest.raises(rules.RuleError, match=missing):
        rules.register(broken)
    assert "broken_kind" not in KINDS
    with pytest.raises(rules.RuleError, match="finding kind warehouse_lost is declared twice"):
        rules.register(_module("acme_twice", "warehouse_lost"))


def test_an_options_hook_turns_a_kind_off() -> None:
    on = AuditSettings(automatic_disposal=True)
    assert rules.rule("disposed_unauthorized").skipped(on) == (
        "automatic disposal is on (audit.automatic_disposal)"
    )
    assert rules.rule("disposed_unauthorized").skipped(AuditSettings()) is None
    assert [r.kind for r in own_rules() if r.skipped(on)] == ["disposed_unauthorized"]


def _module(name: str, kind: str) -> ModuleType:
    """A rule module made in memory, declaring `kind` with warehouse_lost's form."""
    module = ModuleType(name, f"A stray kind ({kind}).")
    lost = importlib.import_module("recoup.rules.warehouse_lost")
    module.KIND = kind  # type: ignore[attr-defined]
    module.NEEDS = ("ledger_detail",)  # type: ignore[attr-defined]
    module.FORM = replace(lost.FORM, kind="")  # type: ignore[attr-defined]

    def find(ctx: Context) -> object:  # a rule of its own, not warehouse_lost's
        return lost.find(ctx)

    module.find = find  # type: ignore[attr-defined]
    return module
