"""The dashboard's side of `recoup sync`: whether Selling Partner API credentials are configured
(which marketplaces, which endpoint host; never a secret value), what the last sync did (from
`sync_jobs`), and reading the sync's progress lines. Every text a server sent is masked by
`credentials.mask`, the one function the sync and the CLI use too.

The sync itself runs as a dashboard job (jobs.py), through `recoup.sources.sync` like the CLI.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from duckdb import DuckDBPyConnection

from recoup.sources import credentials as creds
from recoup.sources.catalog import BY_NAME
from recoup.sql import run

LIBRARY = "sp_api"  # python-amazon-sp-api, the optional extra recoup[spapi]
LIBRARY_MISSING = "recoup sync needs python-amazon-sp-api: pip install 'recoup[spapi]'"
SECRETS = creds.SECRETS
BACKFILL = re.compile(r"\bbackfill (\d+) of (\d+) reports?\b")
FETCHED = 20_000  # sync_jobs rows read for the last sync (an 18-month backfill is ~200/market)


@dataclass(frozen=True)
class CredentialsStatus:
    """What the page may say about the credentials: never a secret, only where they come from,
    the marketplaces and the endpoint's host."""

    configured: bool
    problem: str = ""  # why a sync cannot run (names settings, never their values)
    marketplaces: tuple[str, ...] = ()
    host: str = ""
    origin: str = ""

    @property
    def ready(self) -> bool:
        return self.configured and not self.problem


def endpoint_host(url: str) -> str:
    """The endpoint's host (and port): no scheme, path, query or user name."""
    try:
        split = urlsplit(url)
        host, port = split.hostname or "", split.port
    except ValueError:
        return "(an endpoint recoup cannot read)"
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


def credentials_status(env: Mapping[str, str] | None = None) -> CredentialsStatus:
    env = os.environ if env is None else env
    try:
        loaded = creds.load(env=env)
    except creds.CredentialsError as error:
        return CredentialsStatus(False, problem=str(error))
    from_env = all(env.get(creds.ENV[name]) for name in SECRETS)
    origin = "the environment" if from_env else f"the credentials file {creds.FILE_ENV} names"
    problem = "" if importlib.util.find_spec(LIBRARY) else LIBRARY_MISSING
    return CredentialsStatus(True, problem, loaded.marketplaces, endpoint_host(loaded.endpoint),
                             origin)  # fmt: skip


def secrets_of(credentials: creds.Credentials) -> list[str]:
    return creds.secrets_of(credentials)


def configured_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """The secrets of the credentials configured now ([] when none are)."""
    try:
        return creds.secrets_of(creds.load(env=os.environ if env is None else env))
    except creds.CredentialsError:
        return []


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with any secret value masked, raw or URL-encoded (Amazon's or a library's message
    could echo one): `credentials.mask`."""
    return creds.mask(text, secrets)


def backfill_fraction(line: str) -> tuple[int, int] | None:
    """(done, total) from a "backfill 3 of 14 reports, ..." progress line."""
    found = BACKFILL.search(line)
    return (int(found[1]), int(found[2])) if found else None


def windows_finished(con: DuckDBPyConnection, account: str, after: dt.datetime | None) -> int:
    """Report windows Amazon's part of which ended (imported, no data or failed) after `after`
    (every one when None)."""
    query = ("SELECT count(*) FROM sync_jobs WHERE account = ? AND status <> 'requested' "
             "AND finished_at IS NOT NULL")  # fmt: skip
    if after is None:
        row = run(con, query, [account]).fetchone()
    else:
        row = run(con, query + " AND finished_at > ?", [account, after]).fetchone()
    return int(row[0]) if row else 0


def last_finished(con: DuckDBPyConnection, account: str) -> dt.datetime | None:
    row = run(con, "SELECT max(finished_at) FROM sync_jobs WHERE account = ?",
                      [account]).fetchone()  # fmt: skip
    return row[0] if row else None


@dataclass(frozen=True)
class LastSync:
    """The last sync of an account, as `sync_jobs` records it."""

    started: dt.datetime
    finished: dt.datetime | None  # the latest window to finish; None while none has
    imported: int
    no_data: int
    failed: int
    waiting: int  # still being prepared by Amazon: the next sync picks them up
    failure: str  # the last failed window and Amazon's note on it ("" if none failed)


def _label(pull: str, marketplace: str, start: Any, end: Any) -> str:
    title = BY_NAME[pull].title if pull in BY_NAME else pull
    return " ".join(str(part) for part in (title, marketplace, f"{start}..{end}" if start else "")
                    if part)  # fmt: skip


def last_sync(con: DuckDBPyConnection, account: str, gap: dt.timedelta) -> LastSync | None:
    """The last sync: the reports requested or finished in the latest run of activity without a
    pause longer than `gap` (sync_jobs has no sync id; one sync never stops for longer than its
    poll limit). None before the first sync."""
    rows = run(
        con,
        "SELECT pull, marketplace, window_start, window_end, status, note, requested_at, "
        "finished_at FROM sync_jobs WHERE account = ? "
        f"ORDER BY coalesce(finished_at, requested_at) DESC LIMIT {FETCHED}",
        [account],
    ).fetchall()
    if not rows:
        return None
    moments = sorted({t for r in rows for t in (r[6], r[7]) if t is not None}, reverse=True)
    start = moments[0]
    for moment in moments[1:]:
        if start - moment > gap:
            break
        start = moment
    ours = [r for r in rows if r[6] >= start or (r[7] is not None and r[7] >= start)]
    finished = [r for r in ours if r[7] is not None and r[4] != "requested"]
    failed = sorted((r for r in finished if r[4] == "failed"), key=lambda r: r[7])
    failure = ""
    if failed:
        pull, market, first, last, _status, note, _req, _fin = failed[-1]
        # The sync stores its notes masked; an older recoup stored them as Amazon sent them.
        failure = scrub(f"{_label(pull, market, first, last)}: {note or 'failed'}",
                        configured_secrets())  # fmt: skip
    return LastSync(
        started=start,
        finished=max((r[7] for r in finished), default=None),
        imported=sum(r[4] == "imported" for r in finished),
        no_data=sum(r[4] == "no_data" for r in finished),
        failed=len(failed),
        waiting=sum(r[4] == "requested" for r in ours),
        failure=failure,
    )
