"""Run every rule for one account and as-of date, turn their rows into findings, store them.

The rules (Ibis, on DuckDB or Spark) return contribution rows; this module sums them into
findings (one per kind, FNSKU, clock date and id), values them in Decimal (principles 2 and 10),
dates their windows from the policy, and gives each a stable id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
from duckdb import DuckDBPyConnection

from recoup import claims, clock, interrupts
from recoup.coverage import Coverage, needs_text, wanted_days
from recoup.engines import Engine, duckdb_engine
from recoup.findings import STORED
from recoup.money import cents
from recoup.plans import Plans, source_fingerprint
from recoup.policy import Policy, Window, load_policy
from recoup.reports.marketplaces import CURRENCY_OF
from recoup.rules import RULES, Rule, valuation
from recoup.rules.context import Context, stack
from recoup.settings import AuditSettings, Settings
from recoup.sql import ParameterError, literal
from recoup.sql import run as query
from recoup.workspace import Workspace

IDS = ("reference_id", "order_id", "shipment_id", "removal_order_id", "reimbursement_id")
ZERO = Decimal("0.00")
COVERAGE = "file_coverage"  # the days each download covers (principle 11)

OnRule = Callable[[str, int, int], None]  # (kind, rules done, rules in all)


class FutureAudit(ValueError):
    """An as-of after today: nothing has happened there yet, and every window would look closed."""


def refuse_future(as_of: dt.date, today: dt.date | None = None) -> None:
    """An audit looks at what has happened. One dated in the future would expire every draft,
    and no later audit could bring them back (claims follow the newest audit)."""
    today = today or clock.today()
    if as_of > today:
        raise FutureAudit(
            f"{as_of} is in the future (today is {today}): an audit looks at what has happened"
        )


@dataclass
class Audit:
    account: str
    as_of: dt.date
    engine: str
    findings: list[dict[str, Any]]
    skipped: dict[str, str] = field(default_factory=dict)


def _half(a: Decimal, b: Decimal) -> Decimal:
    return (a + b) / 2


def _principle_10(row: dict[str, Any]) -> tuple[Decimal, str]:
    """Sourcing cost, else reimbursement history, else sale price, else unknown."""
    if row["cost"] is not None:
        return Decimal(row["cost"]), "sourcing_cost"
    if row["lo_paid"] is not None:
        return cents(_half(row["lo_paid"], row["hi_paid"])), "reimbursement_history"
    return _sale_price(row)


def _sale_price(row: dict[str, Any]) -> tuple[Decimal, str]:
    if row["lo_p"] is not None and row["lo_q"] and row["hi_q"]:
        lo = Decimal(row["lo_p"]) / row["lo_q"]
        hi = Decimal(row["hi_p"]) / row["hi_q"]
        return cents(_half(lo, hi)), "sale_price"
    return ZERO, "unknown"


def value(row: dict[str, Any]) -> tuple[Decimal, Decimal, str]:
    """(unit value, amount, basis) of one contribution row."""
    basis, qty, money, units = row["value_basis"], row["quantity"], row["money"], row["money_units"]
    if basis is None:
        unit, basis = _principle_10(row)
        return unit, cents(unit * qty), basis
    if basis == "sale_price":
        unit, basis = _sale_price(row)
        return unit, cents(unit * qty), basis
    if basis == "unsellable":
        return ZERO, ZERO, basis
    if basis == "fee_difference":
        return money, money, basis
    if basis == "refund_principal":
        unit = cents(money / units)
        return unit, unit * qty, basis
    if basis == "reversal":
        return cents(money / units), cents(money * qty / units), basis
    # sourcing_cost gap per unit (reimbursement_underpaid)
    return money, cents(money * qty), basis


def _identity(row: dict[str, Any]) -> tuple[Any, ...]:
    """What tells one finding from another (`finding_id` hashes it)."""
    return (row["kind"], row["marketplace"], row["raw_fnsku"] or row["msku"] or "",
            *(row[i] or "" for i in IDS), row["event_date"])  # fmt: skip


def finding_id(account: str, row: dict[str, Any]) -> str:
    return _hashed(account, _identity(row))


def _hashed(account: str, identity: tuple[Any, ...]) -> str:
    *parts, day = identity
    return hashlib.sha256("|".join([account, *parts, day.isoformat()]).encode()).hexdigest()[:16]


def _wanted(
    proofs: dict[str, tuple[dt.date, dt.date | None]],
    parts: Iterable[tuple[str, dt.date, dt.date | None]],
) -> None:
    """Add a contribution's `proof` parts (`wanted_days`; last None: as_of) to `proofs`,
    widening a report already wanted."""
    for report, first, last in parts:
        was_first, was_last = proofs.get(report, (first, last))
        widest = None if last is None or was_last is None else max(last, was_last)
        proofs[report] = (min(first, was_first), widest)


def assemble(
    account: str,
    as_of: dt.date,
    policy: Policy,
    rows: Iterable[dict[str, Any]],
    file_names: dict[int, str],
    *,
    coverage: Coverage | None = None,
) -> list[dict[str, Any]]:
    """Sum contribution rows into findings (the export contract's columns). A finding whose
    cancellers' reports do not cover the days it needs is `unverified` (principle 11), with
    those reports and days in `needs`."""
    coverage = coverage or Coverage()
    found: dict[tuple[Any, ...], dict[str, Any]] = {}  # by identity (several rows, one finding)
    windows: dict[tuple[str, str, dt.date], Window] = {}  # many findings share a clock date
    wanted: dict[str | None, list[tuple[str, dt.date, dt.date | None]]] = {}  # proofs repeat
    for row in rows:
        identity = _identity(row)
        unit, amount, basis = value(row)
        finding = found.get(identity)
        if finding is None:
            fid = _hashed(account, identity)
            window_id = row["window"] or row["kind"]
            key = (window_id, row["marketplace"], row["event_date"])
            window = windows.get(key) or windows.setdefault(key, policy.window(*key))
            finding = found[identity] = {
                "finding_id": fid,
                **{c: row[c] for c in ("kind", "marketplace", "fnsku", "msku", "asin",
                                       "fulfillment_center", *IDS, "event_date")},
                "quantity": 0,
                "unit_value": unit,
                "amount": ZERO,
                "currency": CURRENCY_OF.get(row["marketplace"], ""),
                "value_basis": basis,
                "window_opens": window.opens,
                "window_closes": window.closes,
                "window_id": window_id,
                "state": window.state(as_of),
                "evidence": [],
                "needs": None,
                "_units_seen": False,
                "_proofs": {},
            }  # fmt: skip
        if row["quantity"] and not finding["_units_seen"]:
            finding["unit_value"], finding["value_basis"] = unit, basis
            finding["_units_seen"] = True
        finding["quantity"] += row["quantity"]
        finding["amount"] += amount
        proof = row["proof"]
        parts = wanted.get(proof)
        if parts is None:
            parts = wanted[proof] = wanted_days(proof)
        _wanted(finding["_proofs"], parts)
        for c in ("fnsku", "msku", "asin", "fulfillment_center"):
            finding[c] = finding[c] or row[c]
        finding["evidence"].append(
            {"report": row["report"], "file": file_names.get(row["file_id"], str(row["file_id"])),
             "line": row["line"]}
        )  # fmt: skip
    out = []
    for finding in found.values():
        del finding["_units_seen"]
        proofs = finding.pop("_proofs")
        missing = coverage.missing(finding["marketplace"], as_of,
                                   ((r, f, t) for r, (f, t) in proofs.items()))  # fmt: skip
        if missing:
            finding["state"], finding["needs"] = "unverified", needs_text(missing)
        if finding["value_basis"] == "fee_difference":
            finding["unit_value"] = finding["amount"]
        finding["evidence"] = sorted(
            {(e["report"], e["file"], e["line"]): e for e in finding["evidence"]}.values(),
            key=lambda e: (e["report"], e["file"], e["line"]),
        )
        out.append(finding)
    out.sort(key=lambda f: (f["kind"], f["marketplace"], f["event_date"], f["finding_id"]))
    return out


def audit_tables(rules: Sequence[Rule] = RULES) -> tuple[str, ...]:
    """Every table an audit reads: what each rule declares (NEEDS and READS), what valuing their
    rows reads, and the coverage findings are checked against."""
    declared = [table for rule in rules for table in rule.tables]
    return tuple(dict.fromkeys([*declared, *valuation.READS, COVERAGE]))


def run(
    engine: Engine,
    account: str,
    as_of: dt.date,
    policy: Policy,
    file_names: dict[int, str],
    *,
    options: AuditSettings | None = None,
    rules: Sequence[Rule] = RULES,
    on_rule: OnRule | None = None,
) -> Audit:
    available = engine.available(account, audit_tables(rules))
    covered = _coverage(engine, account, available)
    account_param, as_of_param = engine.parameters(account, as_of)
    ctx = Context(
        source=engine.source,
        account=account,
        as_of=as_of,
        policy=policy,
        cache=engine.cache,
        execute=engine.execute,
        options=options or AuditSettings(),
        available=available,
        account_param=account_param,
        as_of_param=as_of_param,
    )
    audit = Audit(account, as_of, engine.name, [])
    try:
        rows = _contributions(engine, ctx, audit, rules, on_rule)
    finally:
        engine.release()
    audit.findings = assemble(account, as_of, policy, rows, file_names, coverage=covered)
    return audit


def _coverage(engine: Engine, account: str, available: frozenset[str]) -> Coverage:
    """The account's covered days, read like the rules' tables (a workspace or a lake)."""
    if COVERAGE not in available:
        return Coverage()
    columns = ("marketplace", "report", "first_day", "last_day")
    return Coverage.of(engine.account_rows(COVERAGE, account, columns))


def _contributions(
    engine: Engine,
    ctx: Context,
    audit: Audit,
    rules: Sequence[Rule],
    on_rule: OnRule | None,
) -> list[dict[str, Any]]:
    runnable = []
    for rule in rules:
        missing = rule.missing(ctx.available)
        if missing:
            audit.skipped[rule.kind] = "no " + ", ".join(missing) + " imported"
            continue
        skipped = rule.skipped(ctx.options)
        if skipped:
            audit.skipped[rule.kind] = skipped
            continue
        runnable.append(rule)
    kinds = [rule.kind for rule in rules]

    def starting(kind: str) -> None:
        if on_rule:
            on_rule(kind, kinds.index(kind) if kind in kinds else 0, len(rules))

    rows: list[dict[str, Any]] = []
    if runnable:
        key = trace_key(ctx, runnable)
        replayed = None if key is None else engine.replay(key, starting)
        rows = replayed if replayed is not None else _build(engine, ctx, runnable, key, starting)
    if on_rule:
        on_rule("", len(rules), len(rules))
    return rows


def _build(
    engine: Engine,
    ctx: Context,
    runnable: Sequence[Rule],
    key: str | None,
    starting: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Build each rule's query, run it, and value the rows of them all (recorded for replay)."""
    if key is not None:
        engine.record(key)
    found: list[ir.Table] = []
    for rule in runnable:
        starting(rule.kind)
        engine.mark(rule.kind)
        found.append(engine.cache(rule.find(ctx.for_rule(rule.kind, rule.tables))))
    # Valued once for all kinds: one set of lookups rather than one per rule.
    valuing = ctx.for_rule("the valuation (recoup.rules.valuation)", valuation.READS)
    return engine.rows(valuation.valued(valuing, stack(*found)))


# What the audit's queries are built from, besides the rule modules themselves.
_QUERY_SOURCES = ("rules", "policy", "migrations", "reports", "engines.py", "plans.py")


def trace_key(ctx: Context, runnable: Sequence[Rule]) -> str | None:
    """What decides the steps of an audit, other than the data: the code that builds the
    queries, the account, the tables it holds, the settings and policy, the rules that run.
    None when a rule's code is not in a file."""
    here = Path(__file__).parent
    paths = [p for name in _QUERY_SOURCES for p in _sources(here / name)]
    for rule in runnable:
        try:
            paths.append(Path(inspect.getfile(rule.find)))
        except TypeError:  # built in Python, not read from a file: nothing to fingerprint
            return None
    # recoup's own rules read the as-of date only in their queries (tests/test_architecture.py);
    # another package's rule may decide something from it in Python: replayed only that day.
    day = "" if all(rule.own for rule in runnable) else ctx.as_of.isoformat()
    parts = [
        source_fingerprint(paths),
        ctx.account,
        day,
        sorted(ctx.available),
        [rule.kind for rule in runnable],
        ctx.options.model_dump_json(),
        _canonical(ctx.policy),
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """`value` as JSON that is the same in every process (a set's order is not)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, default=str))
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value if isinstance(value, int | float | str | bool | None) else str(value)


def _sources(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [p for p in path.rglob("*") if p.suffix in {".py", ".toml", ".sql"}]


def store(con: DuckDBPyConnection, audit: Audit) -> None:
    """Replace the account's findings for this as-of date, in one transaction."""
    con.begin()
    try:
        query(con, "DELETE FROM findings WHERE account = ? AND as_of = ?",
              [audit.account, audit.as_of])  # fmt: skip
        query(con, "DELETE FROM audits WHERE account = ? AND as_of = ?",
              [audit.account, audit.as_of])  # fmt: skip
        if audit.findings:
            _insert_findings(con, audit)
        query(
            con,
            "INSERT INTO audits VALUES (?, ?, ?, now(), ?, ?)",
            [audit.account, audit.as_of, audit.engine, len(audit.findings),
             json.dumps(audit.skipped)],
        )  # fmt: skip
        # The first audit to see a shipment closed dates it (its clock when it has no receipt).
        query(
            con,
            "INSERT INTO shipments_seen_closed SELECT DISTINCT account, marketplace, "
            "shipment_id, ? FROM inbound_shipments WHERE account = ? "
            "AND shipment_status = 'CLOSED' ON CONFLICT DO NOTHING",
            [audit.as_of, audit.account],
        )
        interrupts.check()  # a Ctrl+C DuckDB swallowed mid-audit still stops the commit
        con.commit()
    except BaseException:  # a Ctrl+C too: nothing of a half-stored audit stays
        # A failed commit (a full disk) has already ended the transaction: the rollback must
        # not hide the reason behind "no transaction is active".
        with contextlib.suppress(Exception):
            con.rollback()
        raise


# Up to this many findings are written as SQL literals: building an Arrow table from Python
# values makes pyarrow import pandas (0.3 s, more than the insert of a typical account).
LITERAL_FINDINGS = 5_000
_CHUNK = 500


def _insert_findings(con: DuckDBPyConnection, audit: Audit) -> None:
    """Insert the audit's findings: as literals when few, else in one bulk insert through Arrow
    (row-by-row inserts take minutes for 100k findings)."""
    columns = f"account, as_of, {', '.join(STORED)}"
    found = audit.findings
    evidence = [evidence_json(f["evidence"]) for f in found]
    if len(found) <= LITERAL_FINDINGS:
        head = [literal(audit.account), literal(audit.as_of)]
        try:
            values = [
                "(" + ", ".join([*head, *(literal(text if c == "evidence" else f[c])
                                          for c in STORED)]) + ")"
                for f, text in zip(found, evidence, strict=True)
            ]  # fmt: skip
        except ParameterError:
            values = []  # text SQL cannot hold (a NUL): through Arrow below
        if values:
            for start in range(0, len(values), _CHUNK):
                con.execute(
                    f"INSERT INTO findings ({columns}) VALUES "
                    + ", ".join(values[start : start + _CHUNK])
                )
            return
    import pyarrow as pa  # noqa: PLC0415 - only for many findings

    batch = pa.table({c: evidence if c == "evidence" else [f[c] for f in found] for c in STORED})
    con.register("new_findings", batch)
    try:
        query(
            con,
            f"INSERT INTO findings ({columns}) SELECT ?, ?, {', '.join(STORED)} FROM new_findings",
            [audit.account, audit.as_of],
        )
    finally:
        con.unregister("new_findings")


def evidence_json(evidence: list[dict[str, Any]]) -> str:
    """`json.dumps(evidence)`, written directly for the usual report/file/line rows (a 10M-row
    audit writes 180k of them)."""
    parts = []
    for e in evidence:
        if tuple(e) != _EVIDENCE_KEYS or type(e["line"]) is not int:
            return json.dumps(evidence)
        parts.append(
            f'{{"report": {_json_text(e["report"])}, "file": {_json_text(e["file"])}, '
            f'"line": {e["line"]}}}'
        )
    return "[" + ", ".join(parts) + "]"


_EVIDENCE_KEYS = ("report", "file", "line")  # in this order, as json.dumps writes them


def _json_text(value: Any) -> str:
    return encode_basestring_ascii(value) if isinstance(value, str) else json.dumps(value)


def file_names(con: DuckDBPyConnection) -> dict[int, str]:
    """Evidence names a file as the seller saved it (no folder), or `archive!member`."""
    rows = con.execute("SELECT file_id, name FROM source_files").fetchall()
    return {int(i): str(name).replace("\\", "/").rsplit("/", 1)[-1] for i, name in rows}


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """An audit makes millions of short-lived rows and findings, none of them in a reference
    cycle; Python's cycle collector would walk them all again and again (40 % of the Python
    time of a 10M-row audit). Counting references frees them as before."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def audit_account(
    workspace: Workspace,
    settings: Settings,
    account: str,
    as_of: dt.date,
    *,
    engine: Engine | None = None,
    on_rule: OnRule | None = None,
) -> Audit:
    """Audit one account and store its findings (the CLI and the dashboard's audit job).
    Raises PolicyError when a window row in recoup.toml cannot be read, and FutureAudit for
    an as-of after today: such an audit would expire every draft for good."""
    refuse_future(as_of)
    policy = load_policy(settings.audit.windows, settings.audit.cost_basis)
    engine = engine or duckdb_engine(
        workspace.con,
        memory_limit=settings.audit.memory_limit,
        plans=Plans.in_workspace(workspace.root),
    )
    with _without_cycle_collection():
        result = run(
            engine, account, as_of, policy, file_names(workspace.con),
            options=settings.audit, on_rule=on_rule,
        )  # fmt: skip
        store(workspace.con, result)
    return result


def audit_and_claims(
    workspace: Workspace,
    settings: Settings,
    account: str,
    as_of: dt.date,
    *,
    engine: Engine | None = None,
    on_rule: OnRule | None = None,
) -> tuple[Audit, claims.Updated]:
    """Audit, then bring the claims in line: new drafts, flags, reimbursements matched."""
    result = audit_account(workspace, settings, account, as_of, engine=engine, on_rule=on_rule)
    with _without_cycle_collection():
        return result, claims.after_audit(workspace.con, account, as_of)
