"""Settings: upload sourcing costs; the claim windows in force, with the seller's overrides
marked; how the dashboard is reachable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from recoup.claims.store import dicts
from recoup.policy import PolicyError, load_policy
from recoup.sql import run
from recoup.web import db
from recoup.web.routes import MARKETPLACES, PAGE_SIZE, dashboard

router = APIRouter()


def windows(overrides: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """Every window row in force, each marked when recoup.toml replaced or added it."""
    shipped = {(r.kind, r.group, r.effective_from): r for r in load_policy().windows}
    try:
        policy = load_policy(overrides)
    except PolicyError as error:
        return [], str(error)
    rows = [{"kind": r.kind, "group": r.group, "effective_from": r.effective_from,
             "opens_after": str(r.opens_after), "closes_after": str(r.closes_after),
             "source": r.source,
             "override": shipped.get((r.kind, r.group, r.effective_from)) != r}
            for r in policy.windows]  # fmt: skip
    rows.sort(key=lambda r: (r["kind"], r["group"], r["effective_from"]))
    return rows, ""


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request) -> HTMLResponse:
    app = dashboard(request)
    rows, problem = windows(app.settings.audit.windows)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        costs = dicts(run(con,
            "SELECT sku, fnsku, marketplace, currency, unit_cost, effective_from "
            f"FROM sourcing_costs WHERE account = ? ORDER BY sku, effective_from LIMIT {PAGE_SIZE}",
            [account],
        ))  # fmt: skip
        found = run(
            con,
            "SELECT count(*), count(DISTINCT sku) FROM sourcing_costs WHERE account = ?",
            [account],
        ).fetchone()
        main = run(con,
            "SELECT marketplace FROM coverage_days WHERE account = ? GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1", [account],
        ).fetchone()  # fmt: skip
        return app.page(
            request, con, "settings.html",
            marketplaces=MARKETPLACES, main_marketplace=main[0] if main else "US",
            windows=rows, policy_problem=problem, costs=costs,
            cost_rows=int(found[0]) if found else 0, cost_skus=int(found[1]) if found else 0,
            audit=app.settings.audit,
        )  # fmt: skip
