"""One router per dashboard page."""

from __future__ import annotations

import datetime as dt
from typing import cast

from fastapi import Request

from recoup import clock
from recoup.reports.marketplaces import SITES
from recoup.web.dashboard import Dashboard, Refused

PAGE_SIZE = 50
MARKETPLACES = sorted(set(SITES.values()))  # the choices where a report does not say


def dashboard(request: Request) -> Dashboard:
    return cast(Dashboard, request.app.state.dashboard)


def page_number(value: str | None) -> int:
    """A page number from the query string; anything odd is page 1."""
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def pages(total: int, page: int, size: int = PAGE_SIZE) -> dict[str, int]:
    last = max(1, -(-total // size))
    page = min(page, last)
    return {"page": page, "last": last, "total": total, "offset": (page - 1) * size,
            "size": size}  # fmt: skip


def form_day(text: str) -> dt.date:
    """A date typed into a form; empty is today."""
    if not text.strip():
        return clock.today()
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise Refused(f"{text!r} is not a date (YYYY-MM-DD)") from None
