"""Overview: the money figures, owed money by kind, recovered vs missed per month, and the next
deadlines."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from recoup import clock
from recoup.claims.figures import MEASURES, Figures, figures, summed
from recoup.web import db
from recoup.web.dashboard import ACCOUNT_COOKIE, kind_title
from recoup.web.routes import dashboard

router = APIRouter()
MONTHS = 12  # the recovered-vs-missed chart shows this many months up to this one


def _months(today: dt.date) -> list[str]:
    out, year, month = [], today.year, today.month
    for _ in range(MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def charts(result: Figures) -> dict[str, Any]:
    """Chart.js data per currency: owed (claimable now) by kind, recovered vs missed by month."""
    out: dict[str, Any] = {}
    months = _months(result.today)
    for total in summed(result.rows, ("currency",)):
        currency = total["currency"]
        rows = [r for r in result.rows if r["currency"] == currency]
        owed = {r["kind"]: r["amount"] for r in summed(
            (r for r in rows if r["measure"] == "claimable"), ("kind",))}  # fmt: skip
        by_month: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for r in summed((r for r in rows if r["measure"] in ("recovered", "missed")),
                        ("measure", "month")):  # fmt: skip
            by_month[r["measure"]][r["month"]] = r["amount"]
        out[currency] = {
            "owed": {"labels": [kind_title(k) for k in owed],
                     "values": [float(v) for v in owed.values()]},
            "months": {"labels": months,
                       "recovered": [float(by_month["recovered"].get(m, 0)) for m in months],
                       "missed": [float(by_month["missed"].get(m, 0)) for m in months]},
        }  # fmt: skip
    return out


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    app = dashboard(request)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        today = clock.today()
        result = app.cached(("figures", account, today), lambda: figures(con, account, today))
        return app.page(
            request, con, "overview.html",
            figures=result,
            measures=MEASURES,
            totals={(t["measure"], t["currency"]): t for t in result.totals()},
            currencies=sorted({r["currency"] for r in result.rows}),
            charts=charts(result),
        )  # fmt: skip


@router.post("/account")
def choose_account(request: Request, account: Annotated[str, Form()] = "") -> Response:
    """Look at another seller account (remembered in this browser)."""
    response = Response(status_code=204, headers={"HX-Refresh": "true"})
    response.set_cookie(ACCOUNT_COOKIE, account[:64], httponly=True, samesite="strict", path="/")
    return response
