"""The case text for a claim, as Seller Support wants it (reimbursement-policy.md C.2), and the
evidence CSV to attach.

The text comes from Jinja templates: `claim.txt` lays out subject, facts, why it qualifies,
evidence and the ask; `<kind>.txt` fills in the kind's own sentences. A seller edits copies in
`<workspace>/templates/` (`recoup claims templates` writes them there); a copy there wins over
the one shipped with recoup.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from duckdb import DuckDBPyConnection

from recoup import reports
from recoup.claims import evidence, store
from recoup.claims.forms import Form, form
from recoup.policy import Policy, PolicyError, Span
from recoup.rules import RULES

USER_TEMPLATES = "templates"


@dataclass
class Draft:
    claim: dict[str, Any]
    text: str
    evidence_csv: str


def expected_units(f: Form, rows: list[dict[str, Any]]) -> int | None:
    """The units the reports say should be there (adjusted, shipped, requested, returned...),
    as the kind's claim form counts them from a finding's evidence rows."""
    if f.expected_units is None:
        return None
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["report"]].append(r)
    return f.expected_units(by)


def _span(span: Span) -> str:
    unit = "day" if span.unit == "d" else "month"
    return f"{span.amount} {unit}{'' if span.amount == 1 else 's'}"


def window_text(policy: Policy, m: dict[str, Any]) -> str:
    """'60-120-day window', or 'window of 0 days to 18 months', from the policy row in force
    (day counts when the finding predates stored window ids or the policy has changed since)."""
    day = m["event_date"]
    try:
        row = policy.row(m.get("window_id") or m["kind"], m["marketplace"], day)
    except PolicyError:
        row = None
    if row is not None and (row.opens_after.after(day), row.closes_after.after(day)) == (
        m["window_opens"], m["window_closes"]
    ):  # fmt: skip
        opens, closes = row.opens_after, row.closes_after
        if opens.unit == closes.unit == "d":
            return f"{opens.amount}-{closes.amount}-day window"
        return f"window of {_span(opens)} to {_span(closes)}"
    return f"{(m['window_opens'] - day).days}-{(m['window_closes'] - day).days}-day window"


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if i in right else c.ljust(w)
                  for i, (c, w) in enumerate(zip(cells, widths, strict=True)))  # fmt: skip
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}".strip()


def _lines(f: Form, members: list[dict[str, Any]], rows: list[dict[str, Any]], on: dt.date,
           policy: Policy) -> list[dict[str, Any]]:  # fmt: skip
    by_finding: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_finding[r["finding_id"]].append(r)
    out = []
    for m in members:
        expected = expected_units(f, by_finding[m["finding_id"]])
        accounted = expected - m["quantity"] if expected is not None else None
        paid = [r for r in by_finding[m["finding_id"]] if r["report"] == "reimbursements"]
        out.append({
            **m, "id": m[f.line_id] or m["fnsku"] or "", "expected": expected,
            "accounted": accounted if accounted is not None and accounted >= 0 else None,
            "day": (on - m["event_date"]).days, "window": window_text(policy, m),
            "paid_per_unit": paid[0].get("amount_per_unit") if paid else None,
            "original_id": paid[0].get("original_reimbursement_id") if paid else None,
        })  # fmt: skip
    return out


def facts_table(f: Form, lines: list[dict[str, Any]], currency: str) -> str:
    units = f.settle_by == "units"
    headers = [f.line_label, "date"]
    show_fc = any(line["fulfillment_center"] for line in lines)
    if show_fc:
        headers.append("FC")
    show_fnsku = f.line_id != "fnsku"
    headers += ["FNSKU", "SKU"] if show_fnsku else ["SKU"]
    show_expected = bool(f.expected) and any(line["expected"] is not None for line in lines)
    if show_expected:
        headers.append(f.expected)
        if f.accounted:
            headers.append(f.accounted)
    headers += ["units owed"] if units else []
    headers += [f"per unit ({currency})", f"owed ({currency})"]
    rows = []
    for line in lines:
        row = [line["id"], str(line["event_date"])]
        if show_fc:
            row.append(line["fulfillment_center"] or "")
        row += [line["fnsku"] or "", line["msku"] or ""] if show_fnsku else [line["msku"] or ""]
        if show_expected:
            row.append("" if line["expected"] is None else str(line["expected"]))
            if f.accounted:
                row.append("" if line["accounted"] is None else str(line["accounted"]))
        if units:
            row.append(str(line["quantity"]))
        row += [f"{line['unit_value']:,.2f}", f"{line['amount']:,.2f}"]
        rows.append(row)
    right = {i for i, h in enumerate(headers) if i >= 2 and h not in ("FC", "FNSKU", "SKU")}
    return _table(headers, rows, right)


def _packages() -> list[str]:
    """recoup's own templates, then those of rule packages (`templates/` beside their rules):
    a rule package adds its kinds' texts but cannot replace recoup's."""
    extra = dict.fromkeys(r.package for r in RULES if not r.own and r.package)
    return ["recoup.claims", *(p for p in extra
                               if resources.files(p).joinpath("templates").is_dir())]  # fmt: skip


def _environment(workspace: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if workspace is not None and (workspace / USER_TEMPLATES).is_dir():
        loaders.append(jinja2.FileSystemLoader(workspace / USER_TEMPLATES))
    loaders += [jinja2.PackageLoader(package, "templates") for package in _packages()]
    # Plain text for a Seller Support form: nothing is HTML-escaped, and lines stay as written.
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=False,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)  # fmt: skip


def shipped_templates() -> dict[str, str]:
    """Every template a seller may copy into the workspace and edit: recoup's and its rule
    packages' (`recoup claims templates`)."""
    out: dict[str, str] = {}
    for package in _packages():
        folder = resources.files(package).joinpath("templates")
        for e in folder.iterdir():
            if e.name.endswith(".txt"):
                out.setdefault(e.name, e.read_text(encoding="utf-8"))
    return out


def render(
    con: DuckDBPyConnection,
    claim_id: str,
    policy: Policy,
    on: dt.date,
    workspace: Path | None = None,
) -> Draft:
    """The claim's text as it would be filed on `on` (its filing day once filed)."""
    claim = store.claim(con, claim_id)
    members = store.members(con, [claim["claim_id"]])
    if not members:  # expired or withdrawn by recoup: show what it held
        members = store.members(con, [claim["claim_id"]], active=False)
    rows = evidence.rows(con, claim["account"], members)
    f = form(claim["kind"])
    day = claim["filed_on"] or on
    lines = _lines(f, members, rows, day, policy)
    currency = claim["currency"] or ""
    oldest = min(lines, key=lambda line: (line["window_closes"], line["event_date"]))
    cited: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in rows:
        cited[r["report"], r["file"]].append(r["line"])
    context = {
        "claim": claim, "form": f, "lines": lines, "oldest": oldest, "filing_day": day,
        "filed": claim["filed_on"] is not None, "currency": currency,
        "units": sum(line["quantity"] for line in lines),
        "amount": _money(sum((line["amount"] for line in lines), Decimal("0.00")), currency),
        "money": lambda v: _money(Decimal(v), currency),
        "facts": facts_table(f, lines, currency),
        "skus": sorted({line["msku"] for line in lines if line["msku"]}),
        "fnskus": sorted({line["fnsku"] for line in lines if line["fnsku"]}),
        "unknown_value": any(line["value_basis"] == "unknown" for line in lines),
        "bases": sorted({line["value_basis"] for line in lines}),
        "evidence": [{"report": reports.cited_as(report), "file": name,
                      "lines": sorted(set(found))}
                     for (report, name), found in sorted(cited.items())],
    }  # fmt: skip
    try:
        template = _environment(workspace).get_template(f"{claim['kind']}.txt")
        text = template.render(context)
    except jinja2.TemplateSyntaxError as error:
        raise store.ClaimError(
            f"claim template {error.filename or error.name}, line {error.lineno}: {error.message}"
        ) from None
    except jinja2.TemplateError as error:  # an unknown name, a missing block...
        raise store.ClaimError(f"claim template for {claim['kind']}: {error}") from None
    return Draft(claim, text, evidence.to_csv(rows))
