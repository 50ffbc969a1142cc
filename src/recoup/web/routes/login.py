"""Logging in, when the dashboard listens beyond this machine and so has a password."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from recoup.web.routes import dashboard
from recoup.web.security import SESSION_COOKIE, set_session

router = APIRouter()
FAILED_LOGIN_DELAY = 1.0  # seconds; slows down guessing


SAFE_NEXT = re.compile(r"/(?![/\\])[A-Za-z0-9/_.?=&%-]*")


def next_page(target: str) -> str:
    """Only a path on this site: never `//elsewhere`, `/\\elsewhere` (browsers read both as
    another host) or `https://...`, and nothing that could break out of a header."""
    return target if SAFE_NEXT.fullmatch(target) else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    app = dashboard(request)
    if app.guard.password is None:
        return RedirectResponse("/", status_code=303)
    return app.render(request, "login.html", next=next_page(next), error="")


@router.post("/login", response_class=HTMLResponse)
async def log_in(
    request: Request, password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    app = dashboard(request)
    if not app.guard.check_password(password):
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        return app.render(request, "login.html", status_code=401, next=next_page(next),
                          error="That password is not right.")  # fmt: skip
    response = Response(status_code=204, headers={"HX-Redirect": next_page(next)})
    set_session(response, app.guard.log_in())
    return response


@router.post("/logout")
def log_out(request: Request) -> Response:
    app = dashboard(request)
    app.guard.log_out(request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
