"""Logging in, when the dashboard listens beyond this machine and so has a password."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from recoup.web.routes import dashboard
from recoup.web.security import SESSION_COOKIE, set_session

router = APIRouter()
FAILED_LOGIN_DELAY = 1.0  # seconds; slows down guessing


def _next(target: str) -> str:
    """Only a path on this site (never `//elsewhere` or `https://...`)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    app = dashboard(request)
    if app.guard.password is None:
        return RedirectResponse("/", status_code=303)
    return app.render(request, "login.html", next=_next(next), error="")


@router.post("/login", response_class=HTMLResponse)
async def log_in(
    request: Request, password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    app = dashboard(request)
    if not app.guard.check_password(password):
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        return app.render(request, "login.html", status_code=401, next=_next(next),
                          error="That password is not right.")  # fmt: skip
    response = Response(status_code=204, headers={"HX-Redirect": _next(next)})
    set_session(response, app.guard.log_in())
    return response


@router.post("/logout")
def log_out(request: Request) -> Response:
    app = dashboard(request)
    app.guard.log_out(request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
