"""Imports: upload report files (many at once, with the period they cover if the seller states
it), see what the workspace holds per report (as `recoup status` says: status.py) and what each
file was recognised as, the period it covers and any rows that could not be read;
run an audit; sync from Amazon's Selling Partner API (with the credentials' status and what the
last sync did). Each runs as a job with progress. Also what proves absence (principle 11): the days
each report that can cancel a finding covers, and the downloads that would verify the unverified
findings."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from duckdb import DuckDBPyConnection
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse

from recoup import clock, coverage
from recoup import reports as layouts
from recoup.claims.store import dicts
from recoup.reports.marketplaces import normalise_marketplace
from recoup.sources import credentials as creds
from recoup.sql import run
from recoup.status import held, workspace_status
from recoup.web import db, proof, syncing
from recoup.web.dashboard import Dashboard, Refused, partial
from recoup.web.routes import (
    MARKETPLACES,
    PAGE_SIZE,
    dashboard,
    form_day,
    page_number,
    pages,
)

router = APIRouter()
TITLES = {table: layouts.title(table) for table in layouts.CANONICAL_TABLES}
REJECTS_SHOWN = 200
JOB_FINISHED = "job-finished"  # the htmx event a finished job's panel sends


def _upload_name(filename: str | None, number: int) -> str:
    """The file's own name (reports are cited by it), without any folder a browser sent."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if name not in ("", ".", "..") else f"upload-{number}"


def save_uploads(files: list[UploadFile]) -> Path:
    """Each upload into its own numbered folder (two files may share a name)."""
    folder = Path(tempfile.mkdtemp(prefix="recoup-upload-"))
    try:
        for number, upload in enumerate(files, 1):
            if not upload.filename and not upload.size:
                continue  # the browser's empty part when no file was chosen
            target = folder / f"{number:04d}" / _upload_name(upload.filename, number)
            target.parent.mkdir()
            with target.open("wb") as out:
                shutil.copyfileobj(upload.file, out, 1024 * 1024)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _account_name(text: str, current: str) -> str:
    name = text.strip() or current
    if len(name) > 64 or any(ch in name for ch in "/\\\n\r\t"):
        raise Refused("an account name is at most 64 characters, without slashes or tabs")
    return name


@router.get("/imports", response_class=HTMLResponse)
def imports(request: Request) -> HTMLResponse:
    app = dashboard(request)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        reports = held(workspace_status(con, account))  # what `recoup status` shows
        counted = run(con, "SELECT count(*) FROM source_files WHERE account = ?", [account])
        total = int((counted.fetchone() or (0,))[0])
        paging = pages(total, page_number(request.query_params.get("page")))
        files = dicts(run(con,
            "SELECT file_id, name, canonical, encoding, rows, rejects, first_date, last_date, "
            "imported_at, (SELECT count(*) FROM import_warnings w WHERE w.file_id = s.file_id) "
            "AS warnings FROM source_files s WHERE account = ? "
            f"ORDER BY imported_at DESC, file_id DESC LIMIT {PAGE_SIZE} OFFSET {paging['offset']}",
            [account],
        ))  # fmt: skip
        audits = dicts(run(con,
            "SELECT as_of, engine, ran_at, findings FROM audits WHERE account = ? "
            "ORDER BY ran_at DESC LIMIT 5", [account],
        ))  # fmt: skip
        if partial(request):  # a page of the files table
            return app.page(request, con, "_files_table.html", files=files, paging=paging,
                            titles=TITLES)  # fmt: skip
        return app.page(
            request, con, "imports.html",
            reports=reports, files=files, paging=paging, titles=TITLES, audits=audits,
            marketplaces=MARKETPLACES, job=app.jobs.current(), **_proof(con, account),
            **_sync(app, con, account),
        )  # fmt: skip


def _sync(app: Dashboard, con: DuckDBPyConnection, account: str) -> dict[str, Any]:
    """The credentials' status (never a secret) and what the account's last sync did."""
    gap = dt.timedelta(minutes=app.settings.sync.poll_limit_minutes + 10)
    return {"credentials": syncing.credentials_status(),
            "last_sync": syncing.last_sync(con, account, gap),
            "secret_variables": [creds.ENV[name] for name in syncing.SECRETS],
            "marketplaces_variable": creds.ENV["marketplaces"],
            "credentials_file_variable": creds.FILE_ENV}  # fmt: skip


def _proof(con: DuckDBPyConnection, account: str) -> dict[str, Any]:
    """What to download and which days the reports cover (principle 11)."""
    today = clock.today()
    wanted = proof.unverified(con, account, today)
    cov = coverage.load(con, account)
    markets = proof.marketplaces(cov, *(d.marketplace for d in wanted.downloads))
    return {"unverified": wanted, "checklist": proof.checklist(cov, today, markets),
            "usable_months": proof.USABLE_MONTHS, "lag_days": coverage.LAG_DAYS}  # fmt: skip


@router.get("/imports/proof", response_class=HTMLResponse)
def proof_panel(request: Request) -> HTMLResponse:
    """The downloads and coverage sections again, when a job on the page has finished."""
    app = dashboard(request)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        return app.page(request, con, "_proof.html", **_proof(con, account))


@router.get("/imports/sync", response_class=HTMLResponse)
def sync_panel(request: Request) -> HTMLResponse:
    """The sync section again, when a job on the page has finished."""
    app = dashboard(request)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        return app.page(request, con, "_sync.html", **_sync(app, con, account))


@router.get("/imports/{file_id}/rejects", response_class=HTMLResponse)
def rejects(request: Request, file_id: int) -> HTMLResponse:
    app = dashboard(request)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
        found = dicts(run(con,
            "SELECT file_id, name, rejects FROM source_files WHERE file_id = ? AND account = ?",
            [file_id, account],
        ))  # fmt: skip
        if not found:
            raise HTTPException(404, "no such imported file for this account")
        rows = dicts(run(con,
            "SELECT line, column_name, raw_text, problem FROM rejects WHERE file_id = ? "
            f"ORDER BY line NULLS FIRST LIMIT {REJECTS_SHOWN}", [file_id],
        ))  # fmt: skip
        warnings = run(con, "SELECT message FROM import_warnings WHERE file_id = ?", [file_id])
        messages = [r[0] for r in warnings.fetchall()]
        return app.page(request, con, "_rejects.html", file=found[0], rejects=rows,
                        warnings=messages, shown=REJECTS_SHOWN)  # fmt: skip


@router.post("/imports", response_class=HTMLResponse)
def upload(
    request: Request,
    *,
    files: Annotated[list[UploadFile] | None, File()] = None,
    marketplace: Annotated[str, Form()] = "",
    account: Annotated[str, Form()] = "",
    expect: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
) -> HTMLResponse:
    app = dashboard(request)
    stated = None
    if period.strip():  # checked before anything is saved: a wrong period imports nothing
        try:
            stated = coverage.parse_period(period, clock.today())
        except ValueError as error:
            raise Refused(f"Period these downloads cover: {error}") from None
    market = None
    if marketplace.strip():
        market = normalise_marketplace(marketplace)
        if market is None:
            raise Refused(f"unknown marketplace {marketplace!r}")
    with db.connection(app.root) as con:
        current, _ = app.account(request, con)
    name = _account_name(account, current)
    folder = save_uploads(files or [])
    if not any(p.is_file() for p in folder.rglob("*")):
        shutil.rmtree(folder, ignore_errors=True)
        raise Refused("choose one or more report files first")
    job = app.jobs.start_import(folder, name, market, expect=expect or None, period=stated)
    return app.render(request, "_job.html", job=job, titles=TITLES)


@router.post("/audit", response_class=HTMLResponse)
def audit(request: Request, as_of: Annotated[str, Form()] = "") -> HTMLResponse:
    app = dashboard(request)
    day = form_day(as_of)
    if day > clock.today():
        raise Refused(f"{day} is in the future: an audit looks at what has happened")
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
    job = app.jobs.start_audit(account, day)
    return app.render(request, "_job.html", job=job, titles=TITLES)


@router.post("/sync", response_class=HTMLResponse)
def sync(request: Request) -> HTMLResponse:
    """Sync the account being looked at from Amazon, as a job."""
    app = dashboard(request)
    with db.connection(app.root) as con:
        account, _ = app.account(request, con)
    job = app.jobs.start_sync(account)
    return app.render(request, "_job.html", job=job, titles=TITLES)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_panel(request: Request, job_id: str) -> HTMLResponse:
    app = dashboard(request)
    job = app.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "that job is no longer remembered (the dashboard restarted?)")
    response = app.render(request, "_job.html", job=job, titles=TITLES)
    if not job.running:  # the page's coverage and downloads sections load again
        response.headers["HX-Trigger"] = JOB_FINISHED
    return response
