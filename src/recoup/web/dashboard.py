"""What every page shares: the workspace, the settings, the jobs, the account being looked at,
and the Jinja templates (autoescaped: report text such as product titles and customer comments
can hold HTML)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import jinja2
from duckdb import DuckDBPyConnection
from fastapi import Request
from fastapi.responses import HTMLResponse

from recoup import clock, reports
from recoup.claims.forms import forms
from recoup.coverage import parse_needs
from recoup.settings import Settings
from recoup.sources.catalog import PULLS
from recoup.web.jobs import Jobs
from recoup.web.security import Guard
from recoup.workspace import DB_NAME

ACCOUNT_COOKIE = "recoup_account"
PAGES = (("/", "Overview"), ("/findings", "Findings"), ("/claims", "Claims"),
         ("/imports", "Imports"), ("/settings", "Settings"))  # fmt: skip


class Refused(ValueError):
    """A form the dashboard cannot act on; the message says why (shown where the form is)."""


def money(value: Any, currency: str | None = None) -> str:
    amount = Decimal(value or 0)
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def kind_title(kind: str) -> str:
    form = forms().get(kind)
    return form.title if form else kind.replace("_", " ")


def label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def report_title(table: str) -> str:
    return reports.title(table)


def needs(text: str | None) -> list[str]:
    """An unverified finding's `needs` column as the reports' titles and the days each must
    cover (the text itself if it cannot be read)."""
    try:
        return [f"{report_title(n.report)} {n.first}..{n.last}" for n in parse_needs(text)]
    except ValueError:
        return [text or ""]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("recoup.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, kind_title=kind_title, label=label, needs=needs)
    env.globals.update(pages=PAGES, pull_titles={p.name: p.title for p in PULLS})
    return env


class Dashboard:
    """What every route needs: the workspace, the settings, the jobs, the templates."""

    def __init__(self, root: Path, settings: Settings, guard: Guard) -> None:
        self.root = root
        self.settings = settings
        self.guard = guard
        self.jobs = Jobs(root, settings)
        self.templates = _environment()
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._cache_lock = threading.Lock()

    def signature(self) -> tuple[int, ...]:
        """Changes whenever anything is written to the workspace: a commit goes to the WAL, a
        checkpoint to the database file."""
        out: list[int] = []
        for path in (self.root / DB_NAME, self.root / f"{DB_NAME}.wal"):
            try:
                stat = path.stat()
                out += [stat.st_mtime_ns, stat.st_size]
            except FileNotFoundError:
                out += [0, 0]
        return tuple(out)

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """`compute()` once per key while the workspace is unchanged (the overview's figures
        take most of a second on a ten-million-row account; a reload should not)."""
        full = (*key, self.signature())
        with self._cache_lock:
            if full in self._cache:
                return self._cache[full]
        value = compute()
        with self._cache_lock:
            self._cache = {k: v for k, v in self._cache.items() if k[:-1] != key}
            self._cache[full] = value
        return value

    def accounts(self, con: DuckDBPyConnection) -> list[str]:
        rows = con.execute(
            "SELECT account FROM source_files UNION SELECT account FROM audits "
            "UNION SELECT account FROM claims ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def account(self, request: Request, con: DuckDBPyConnection) -> tuple[str, list[str]]:
        """The account this browser looks at: its choice, else the configured one if it has
        data, else the most recently audited, else the first with any file. Worked out once per
        request (the route and the page frame both ask)."""
        chosen_before = getattr(request.state, "account", None)
        if chosen_before is not None:
            return cast(tuple[str, list[str]], chosen_before)
        request.state.account = self._account(request, con)
        return cast(tuple[str, list[str]], request.state.account)

    def _account(self, request: Request, con: DuckDBPyConnection) -> tuple[str, list[str]]:
        known = self.accounts(con)
        chosen = request.cookies.get(ACCOUNT_COOKIE)
        if chosen in known:
            return str(chosen), known
        if self.settings.account in known or not known:
            return self.settings.account, known
        row = con.execute("SELECT account FROM audits ORDER BY ran_at DESC LIMIT 1").fetchone()
        return (row[0] if row else known[0]), known

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        context.setdefault("account", "")
        context.setdefault("accounts", [])
        page = self.templates.get_template(template).render(
            request=request,
            csrf=getattr(request.state, "csrf", ""),
            path=request.url.path,
            today=clock.today(),
            login_required=self.guard.password is not None,
            **context,
        )
        return HTMLResponse(page, status_code=status_code)

    def page(
        self, request: Request, con: DuckDBPyConnection, template: str, **context: Any
    ) -> HTMLResponse:
        """A page for the current account (full page, or only the part htmx asked for)."""
        account, accounts = self.account(request, con)
        context.setdefault("account", account)
        return self.render(request, template, accounts=accounts, **context)


def partial(request: Request) -> bool:
    """htmx asked for a part of the page, not a whole one (never on a history restore)."""
    return "hx-request" in request.headers and "hx-history-restore-request" not in request.headers
