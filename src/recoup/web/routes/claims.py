"""Claims: the list by state; one claim's case text (with a copy button), its evidence CSV, its
findings and history, and what the seller does with it: file with a case id, resolve, reopen."""

from __future__ import annotations

from typing import Annotated, Any

from duckdb import DuckDBPyConnection
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from recoup import clock
from recoup.claims import drafts, store, workflow
from recoup.claims.matching import match
from recoup.claims.store import ClaimError
from recoup.policy import load_policy
from recoup.rules import KINDS
from recoup.sql import run
from recoup.web import db
from recoup.web.dashboard import Refused, partial
from recoup.web.routes import PAGE_SIZE, dashboard, form_day, page_number, pages

router = APIRouter()


def _counts(con: DuckDBPyConnection, account: str) -> dict[str, dict[str, Any]]:
    rows = store.dicts(run(con,
        "SELECT state, count(*) AS n, sum(amount) AS amount, "
        "string_agg(DISTINCT currency, '/' ORDER BY currency) AS currency "
        "FROM claims WHERE account = ? GROUP BY state", [account],
    ))  # fmt: skip
    return {r["state"]: r for r in rows}


@router.get("/claims", response_class=HTMLResponse)
def claims_list(request: Request) -> HTMLResponse:
    app = dashboard(request)
    q = request.query_params
    state = str(q.get("state")) if q.get("state") in store.STATES else "draft"
    kind = str(q.get("kind")) if q.get("kind") in KINDS else ""
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        counts = _counts(con, account)
        if kind:
            found = run(
                con,
                "SELECT count(*) FROM claims WHERE account = ? AND state = ? AND kind = ?",
                [account, state, kind],
            ).fetchone()
            total = int(found[0]) if found else 0
        else:
            total = int(counts.get(state, {}).get("n", 0))
        paging = pages(int(total), page_number(q.get("page")))
        rows = store.claims(con, account, states=(state,), kinds=(kind,) if kind else (),
                            limit=PAGE_SIZE, offset=paging["offset"])  # fmt: skip
        template = "_claims_table.html" if partial(request) else "claims.html"
        return app.page(
            request, con, template,
            state=state, kind=kind, kinds=KINDS, states=store.STATES, counts=counts, rows=rows,
            paging=paging,
        )  # fmt: skip


def _claim_page(
    request: Request, con: DuckDBPyConnection, claim_id: str, *, message: str = "", error: str = "",
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    app = dashboard(request)
    draft = _draft(request, con, claim_id)
    claim = draft.claim
    members = store.members(con, [claim["claim_id"]], active=False)
    template = "_claim.html" if partial(request) else "claim.html"
    response = app.page(
        request, con, template,
        claim=claim, text=draft.text, members=members, history=store.history(con, claim_id),
        message=message, error=error, actions=_actions(claim),
    )  # fmt: skip
    response.status_code = status_code
    return response


def _actions(claim: dict[str, Any]) -> list[str]:
    """The actions the workflow allows from the claim's state."""
    state = claim["state"]
    out = []
    if state == "draft":
        out.append("file")
    if state in store.FILED:
        out.append("denied")
    if state in store.OPEN:
        out.append("withdrawn")
    if state in ("denied", "withdrawn", "expired"):
        out.append("reopen")
    return out


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim_page(request: Request, claim_id: str) -> HTMLResponse:
    with db.connection(dashboard(request).root) as con:
        return _claim_page(request, con, claim_id)


def _draft(request: Request, con: DuckDBPyConnection, claim_id: str) -> drafts.Draft:
    """The claim's case text and evidence CSV, as of today, from the seller's templates."""
    app = dashboard(request)
    claim = store.claim(con, claim_id)
    policy = load_policy(app.settings.audit.windows, app.settings.audit.cost_basis)
    return drafts.render(con, claim["claim_id"], policy, clock.today(), app.root)


def _download(request: Request, claim_id: str, part: str) -> Response:
    with db.connection(dashboard(request).root) as con:
        draft = _draft(request, con, claim_id)
    cid = draft.claim["claim_id"]
    if part == "evidence":
        body, media, name = draft.evidence_csv, "text/csv", f"{cid}-evidence.csv"
    else:
        body, media, name = draft.text, "text/plain", f"{cid}-case.txt"
    return Response(body, media_type=f"{media}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/claims/{claim_id}/evidence.csv")
def evidence_csv(request: Request, claim_id: str) -> Response:
    return _download(request, claim_id, "evidence")


@router.get("/claims/{claim_id}/case.txt")
def case_text(request: Request, claim_id: str) -> Response:
    return _download(request, claim_id, "text")


def _act(request: Request, claim_id: str, action: Any, done: str) -> HTMLResponse:
    """Run a workflow action and show the claim again, with what happened or why not. A claim
    that is now filed is matched at once against reimbursements already imported."""
    with db.connection(dashboard(request).root) as con:
        try:
            claim = action(con)
        except (ClaimError, Refused) as error:
            return _claim_page(request, con, claim_id, error=str(error), status_code=422)
        if claim["state"] in store.FILED:
            paid = match(con, claim["account"])
            if paid:
                done += f"; {len(paid)} reimbursement(s) already imported matched it"
        return _claim_page(request, con, claim_id, message=done)


@router.post("/claims/{claim_id}/file", response_class=HTMLResponse)
def file_claim(
    request: Request,
    claim_id: str,
    case_id: Annotated[str, Form()] = "",
    filed_on: Annotated[str, Form()] = "",
) -> HTMLResponse:
    return _act(request, claim_id,
                lambda con: workflow.file(con, claim_id, case_id, form_day(filed_on)),
                f"Filed as case {case_id.strip()}")  # fmt: skip


@router.post("/claims/{claim_id}/resolve", response_class=HTMLResponse)
def resolve_claim(
    request: Request,
    claim_id: str,
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> HTMLResponse:
    return _act(request, claim_id,
                lambda con: workflow.resolve(con, claim_id, outcome, clock.today(), note),
                f"Marked {outcome}")  # fmt: skip


@router.post("/claims/{claim_id}/reopen", response_class=HTMLResponse)
def reopen_claim(
    request: Request,
    claim_id: str,
    case_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> HTMLResponse:
    return _act(request, claim_id,
                lambda con: workflow.reopen(con, claim_id, clock.today(), case_id or None, note),
                "Reopened")  # fmt: skip
