"""The dashboard application: pages over one workspace, for one seller account at a time.

`create_app()` wires the pieces: the access guard (security.py), the shared page context
(dashboard.py), the static files and one router per page in `routes/`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from recoup.claims.store import ClaimError
from recoup.settings import Settings
from recoup.web.dashboard import Dashboard, Refused, partial
from recoup.web.jobs import JobRunning
from recoup.web.routes import claims, findings, imports, login, overview
from recoup.web.routes import settings as settings_page
from recoup.web.security import Guard
from recoup.workspace import WorkspaceBusy, WorkspaceError


def create_app(root: Path, settings: Settings, guard: Guard) -> FastAPI:
    app = FastAPI(title="recoup", docs_url=None, redoc_url=None, openapi_url=None)
    dashboard = Dashboard(root, settings, guard)
    app.state.dashboard = dashboard
    app.middleware("http")(guard)
    static = resources.files("recoup.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in (overview, findings, claims, imports, settings_page, login):
        app.include_router(module.router)

    @app.exception_handler(WorkspaceBusy)
    async def busy(request: Request, error: WorkspaceBusy) -> Response:
        template = "_busy.html" if partial(request) else "busy.html"
        response = dashboard.render(request, template, status_code=503, message=str(error))
        response.headers["Retry-After"] = "3"
        return response

    @app.exception_handler(WorkspaceError)
    async def broken(request: Request, error: WorkspaceError) -> Response:
        # A damaged, read-only or full workspace: the sentence the CLI prints, not a 500.
        if partial(request):
            return dashboard.render(request, "_message.html", status_code=503, error=str(error))
        return dashboard.render(request, "error.html", status_code=503, error=str(error))

    @app.exception_handler(ClaimError)
    @app.exception_handler(Refused)
    async def refused(request: Request, error: Exception) -> Response:
        if request.method == "GET" and not partial(request):  # a link to a claim that is not
            return dashboard.render(request, "error.html", status_code=404, error=str(error))
        return dashboard.render(request, "_message.html", status_code=422, error=str(error))

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException) -> Response:
        template = "_message.html" if partial(request) else "error.html"
        return dashboard.render(request, template, status_code=error.status_code,
                                error=str(error.detail))  # fmt: skip

    @app.exception_handler(duckdb.TransactionException)
    async def conflict(request: Request, error: Exception) -> Response:
        # Two writers touched the same rows (a claim filed while an audit job re-drafts it):
        # DuckDB keeps the first and refuses the second, which is safe to repeat.
        return dashboard.render(request, "_message.html", status_code=409, error=(
            "An import or audit running now changed the same rows; nothing was saved. "
            "Try again in a moment."))  # fmt: skip

    @app.exception_handler(JobRunning)
    async def running(request: Request, error: JobRunning) -> Response:
        return dashboard.render(request, "_message.html", status_code=409, error=str(error))

    return app
