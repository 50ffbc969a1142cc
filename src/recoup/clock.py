"""The day recoup takes as today: what an audit may look at, when a window closes, what is
filed when.

`RECOUP_TODAY=YYYY-MM-DD` sets it, for a reproducible run (the tests audit a simulated account
some days after its fixed as-of, whatever the calendar says). Everything that asks "is this in
the future?" asks here, so one setting moves them all together.
"""

from __future__ import annotations

import datetime as dt
import os


def today() -> dt.date:
    stated = os.environ.get("RECOUP_TODAY", "").strip()
    if not stated:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(stated)
    except ValueError:
        raise SystemExit(f"RECOUP_TODAY={stated!r} is not a date (YYYY-MM-DD)") from None
