"""`recoup sync`: pull what changed since the last sync, through the ordinary import.

For each marketplace and each report of the catalog:
- dated reports are requested in windows from where the last sync stopped (less the report's
  overlap: Amazon changes recent rows after the fact) up to today; the first sync reaches back
  18 months (the longest claim window), `--since` backfills from an earlier day;
- a report Amazon is still preparing when the sync is killed is picked up again by the next
  sync (its id is stored the moment it is requested), and the import skips documents it already
  holds, so nothing is requested twice or counted twice;
- CANCELLED means Amazon had no data for the window; FATAL is reported with Amazon's error
  document, and that report's later windows wait for the next sync (a gap would be skipped);
- settlement reports are listed and downloaded; inbound shipments and items come from the
  Fulfillment Inbound API, every page;
- whatever Amazon's servers say (error documents, error answers, report ids) is masked by the
  source (`credentials.mask`) before it is shown, stored as a window's note or said as
  progress: a server can echo the request, secrets and all (issue 20).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recoup import coverage, sql
from recoup.coverage import Span
from recoup.ingest import import_paths
from recoup.ingest.decode import declared_encoding
from recoup.policy import add_months
from recoup.reports import DATED_TABLES
from recoup.settings import SyncSettings
from recoup.sources.catalog import LONGEST_BACKFILL_MONTHS, PULLS, Pull
from recoup.sources.spapi import Document, LoginRefused, ReportSource, SourceError
from recoup.workspace import Workspace

DOWNLOADS = "sync-downloads"  # scratch folder in the workspace; the raw store keeps the bytes
# The longest claim window still open (US returns close 120 days after the refund): a first sync
# pulls these days of every report before it backfills anything older.
RECENT_DAYS = 120
RANGE_EXCEEDED = b"date range exceeded"
AHEAD = 4  # reports of one kind requested before the oldest of them is waited for


@dataclass
class Plan:
    """One report's windows in one marketplace: the recent ones, then the backfill (newest
    first) down to `target`."""

    marketplace: str
    pull: Pull
    target: dt.date
    recent: list[Span]
    backfill: list[Span]


@dataclass
class Outcome:
    pull: str
    marketplace: str
    window: str
    state: str  # imported, duplicate, no data, failed, up to date
    rows: int = 0
    note: str = ""


@dataclass
class Sync:
    root: Path  # the workspace, opened only for each read or write (never while waiting)
    source: ReportSource
    account: str
    today: dt.date
    settings: SyncSettings
    say: Callable[[str], None] = lambda _text: None
    sleep: Callable[[float], None] = lambda _s: None

    def masked(self, text: str) -> str:
        """`text` with every secret the source holds masked (the source knows the access tokens
        it was granted; a source without secrets has nothing to mask)."""
        mask = getattr(self.source, "mask", None)
        return str(mask(text)) if callable(mask) and text else text

    def tell(self, text: str) -> None:
        """A progress line, masked (it can carry a report id, a server's text)."""
        self.say(self.masked(text))

    def sql(self, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
        """One statement in a short-lived connection: Amazon can take minutes per report, and
        the dashboard or an audit may use the workspace meanwhile."""
        with Workspace(self.root) as workspace:
            return list(sql.run(workspace.con, query, params).fetchall())

    # -- state -------------------------------------------------------------------------------

    def pulled(self, marketplace: str, pull: str) -> tuple[dt.date, dt.date] | None:
        """(first day ever pulled, last day pulled), or None before the first sync."""
        found = self.sql(
            "SELECT pulled_from, pulled_through FROM sync_state WHERE account = ? "
            "AND marketplace = ? AND pull = ?",
            [self.account, marketplace, pull],
        )
        return (found[0][0], found[0][1]) if found else None

    def advance(
        self,
        marketplace: str,
        pull: str,
        start: dt.date,
        through: dt.date,
        backfill_to: dt.date | None = None,
    ) -> None:
        self.sql(
            "INSERT INTO sync_state (account, marketplace, pull, pulled_from, pulled_through, "
            "updated_at, backfill_to) VALUES (?, ?, ?, ?, ?, now(), ?) ON CONFLICT DO UPDATE SET "
            "pulled_from = least(pulled_from, excluded.pulled_from), "
            "pulled_through = greatest(pulled_through, excluded.pulled_through), "
            "backfill_to = least(coalesce(backfill_to, excluded.backfill_to), "
            "excluded.backfill_to), updated_at = excluded.updated_at",
            [self.account, marketplace, pull, start, through, backfill_to or start],
        )

    def backfill_to(self, marketplace: str, pull: str) -> dt.date | None:
        found = self.sql(
            "SELECT backfill_to FROM sync_state WHERE account = ? AND marketplace = ? AND pull = ?",
            [self.account, marketplace, pull],
        )
        return found[0][0] if found else None

    def pending(self, marketplace: str, pull: Pull, start: Any, end: Any) -> str | None:
        found = self.sql(
            "SELECT report_id FROM sync_jobs WHERE account = ? AND marketplace = ? AND pull = ? "
            "AND status = 'requested' AND window_start IS NOT DISTINCT FROM ? "
            "AND window_end IS NOT DISTINCT FROM ? ORDER BY requested_at DESC LIMIT 1",
            [self.account, marketplace, pull.name, start, end],
        )
        return str(found[0][0]) if found else None

    def job(self, marketplace: str, pull: Pull, report_id: str, start: Any, end: Any) -> None:
        self.sql(
            "INSERT INTO sync_jobs VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', NULL, NULL, now(), "
            "NULL) ON CONFLICT DO NOTHING",
            [self.account, marketplace, pull.name, pull.report_type, report_id, start, end],
        )

    def finish(
        self, pull: Pull, report_id: str, status: str, file_name: str | None = None, note: str = ""
    ) -> None:
        self.sql(
            "UPDATE sync_jobs SET status = ?, file_name = ?, note = ?, finished_at = now() "
            "WHERE account = ? AND pull = ? AND report_id = ?",
            [status, file_name, self.masked(note) or None, self.account, pull.name, report_id],
        )

    def done(self, pull: Pull, report_id: str) -> bool:
        found = self.sql(
            "SELECT count(*) FROM sync_jobs WHERE account = ? AND pull = ? AND report_id = ? "
            "AND status IN ('imported', 'no_data')",
            [self.account, pull.name, report_id],
        )
        return bool(found and found[0][0])

    def progress(self, done: int, total: int) -> str:
        """Says, e.g., "backfill 37 of 96 reports, about 40 minutes left at Amazon's rate"."""
        if not total:
            return "nothing older to backfill"
        rate = getattr(self.source, "rate", None)
        left = ""
        if callable(rate) and total > done:
            minutes = (total - done) / max(float(rate("createReport")), 1e-6) / 60
            left = f", about {minutes:,.0f} minute(s) left at Amazon's stated rate"
        return f"backfill {done} of {total} reports{left}"

    # -- planning ----------------------------------------------------------------------------

    def first_day(self, marketplace: str, pull: Pull, since: dt.date | None) -> dt.date:
        """`--since`, else the overlap before where the last sync stopped (never before the
        first day ever pulled), else 18 months back."""
        earliest = add_months(self.today, -LONGEST_BACKFILL_MONTHS)
        if since is not None:
            return max(since, earliest)
        pulled = self.pulled(marketplace, pull.name)
        if pulled is None:
            return earliest
        start, through = pulled
        return max(through - dt.timedelta(days=pull.overlap_days - 1), start, earliest)

    def target(self, marketplace: str, pull: Pull, since: dt.date | None) -> dt.date:
        """How far back this report's backfill reaches: `--since` (or the first sync's), else
        18 months; never beyond 18 months."""
        earliest = add_months(self.today, -LONGEST_BACKFILL_MONTHS)
        stored = self.backfill_to(marketplace, pull.name)
        wanted = [d for d in (since, stored) if d is not None]
        return max(min(wanted), earliest) if wanted else earliest

    def plan(self, marketplace: str, pull: Pull, since: dt.date | None) -> Plan:
        """The recent windows (new days since the last sync, or the last RECENT_DAYS on a
        first sync), then the backfill, newest first, down to `target`."""
        target = self.target(marketplace, pull, since)
        pulled = self.pulled(marketplace, pull.name)
        recent_from = self.today - dt.timedelta(days=RECENT_DAYS - 1)
        if pulled is None:
            forward_from = max(target, recent_from)
            back_end = forward_from - dt.timedelta(days=1)
        else:
            start, through = pulled
            forward_from = max(through - dt.timedelta(days=pull.overlap_days - 1), start, target)
            back_end = start - dt.timedelta(days=1)
        backward = []
        while back_end >= target:
            begin = max(target, back_end - dt.timedelta(days=pull.max_days - 1))
            backward.append((begin, back_end))
            back_end = begin - dt.timedelta(days=1)
        return Plan(
            marketplace,
            pull,
            target,
            recent=self.windows(marketplace, pull, forward_from)
            + [w for w in backward if w[1] >= recent_from],
            backfill=[w for w in backward if w[1] < recent_from],
        )

    def windows(
        self, marketplace: str, pull: Pull, start: dt.date
    ) -> list[tuple[dt.date, dt.date]]:
        """Windows from `start` to today, at most `max_days` each."""
        out = []
        while start <= self.today:
            end = self.pending_end(marketplace, pull, start) or min(
                start + dt.timedelta(days=pull.max_days - 1), self.today
            )
            out.append((start, end))
            start = end + dt.timedelta(days=1)
        return out

    def pending_end(self, marketplace: str, pull: Pull, start: dt.date) -> dt.date | None:
        """The end of a report requested from `start` by a sync that never finished (perhaps
        on an earlier day, when the window ended earlier): that report is used, not a new one."""
        found = self.sql(
            "SELECT max(window_end) FROM sync_jobs WHERE account = ? AND marketplace = ? "
            "AND pull = ? AND status = 'requested' AND window_start = ?",
            [self.account, marketplace, pull.name, start],
        )
        return found[0][0] if found and found[0][0] else None

    # -- one report --------------------------------------------------------------------------

    def wait_for(self, marketplace: str, report_id: str, label: str) -> tuple[str, str | None]:
        """Poll until Amazon is done, with a growing interval; ('TIMEOUT', None) past the
        limit (the report stays requested: the next sync resumes it)."""
        interval, waited = self.settings.poll_seconds, 0.0
        while True:
            status = self.source.report_status(report_id, marketplace)
            if status.state in ("DONE", "CANCELLED", "FATAL"):
                return status.state, status.document_id
            if waited >= self.settings.poll_limit_minutes * 60:
                return "TIMEOUT", None
            self.tell(f"{label}: Amazon is preparing report {report_id} ({status.state})")
            self.sleep(interval)
            waited += interval
            interval = min(interval * 1.5, 60.0)

    def fetch_report(
        self, marketplace: str, pull: Pull, start: dt.date | None, end: dt.date | None
    ) -> Outcome:
        return self.collect(
            marketplace, pull, start, end, self.request(marketplace, pull, start, end)
        )

    def request(
        self, marketplace: str, pull: Pull, start: dt.date | None, end: dt.date | None
    ) -> str:
        """Ask Amazon for the report (or pick up the one an unfinished sync asked for)."""
        label = f"{pull.title} {marketplace} {f'{start}..{end}' if start else self.today}"
        report_id = self.pending(marketplace, pull, start, end)
        if report_id:
            self.tell(f"{label}: resuming report {report_id}")
            return report_id
        begin = dt.datetime.combine(start, dt.time(0, 0), dt.UTC) if start else None
        finish = dt.datetime.combine(end, dt.time(23, 59, 59), dt.UTC) if end else None
        report_id = self.source.create_report(pull.report_type, marketplace, begin, finish)
        self.job(marketplace, pull, report_id, start, end)
        self.tell(f"{label}: requested report {report_id}")
        return report_id

    def collect(
        self,
        marketplace: str,
        pull: Pull,
        start: dt.date | None,
        end: dt.date | None,
        report_id: str,
    ) -> Outcome:
        """Wait for a requested report, then download and import it."""
        window = f"{start}..{end}" if start else str(self.today)
        label = f"{pull.title} {marketplace} {window}"
        state, document_id = self.wait_for(marketplace, report_id, label)
        if state == "TIMEOUT":
            return Outcome(
                pull.name,
                marketplace,
                window,
                "failed",
                note=f"Amazon is still preparing report {report_id}; the next sync picks it up",
            )
        if state == "CANCELLED":
            self.finish(pull, report_id, "no_data", note="Amazon cancelled it: no data")
            self.covered_empty(marketplace, pull, start, end)
            return Outcome(
                pull.name,
                marketplace,
                window,
                "no data",
                note="Amazon had no data for this window (CANCELLED)",
            )
        if state == "FATAL":
            why = self.error_document(marketplace, document_id)
            self.finish(pull, report_id, "failed", note=why)
            return Outcome(
                pull.name,
                marketplace,
                window,
                "failed",
                note=f"Amazon could not make report {report_id} (FATAL): {why}",
            )
        if not document_id:
            self.finish(pull, report_id, "failed", note="DONE without a document")
            return Outcome(pull.name, marketplace, window, "failed", note="no document")
        name = f"{pull.report_type}_{marketplace}_{window.replace('..', '_')}_{report_id}.txt"
        period = (start, end) if start and end else None
        return self.fetch_document(
            marketplace, pull, report_id, document_id, name, window, period=period
        )

    def covered_empty(
        self, marketplace: str, pull: Pull, start: dt.date | None, end: dt.date | None
    ) -> None:
        """A window Amazon had no data for is proof that nothing happened in it (principle 11)."""
        # A dated pull is named after the canonical table it fills.
        if pull.name in DATED_TABLES and start and end:
            with Workspace(self.root) as workspace:
                coverage.record(
                    workspace.con, None, account=self.account, report=pull.name,
                    marketplaces=[marketplace], span=(start, end), basis="synced",
                )  # fmt: skip

    def error_document(self, marketplace: str, document_id: str | None) -> str:
        if not document_id:
            return "no error document"
        try:
            document = self.source.download(document_id, marketplace)
        except SourceError as error:
            return f"its error document could not be read ({error})"
        for encoding in dict.fromkeys((declared_encoding(document.charset), "utf-8")):
            try:
                text = document.data.decode(encoding or "utf-8")
            except UnicodeDecodeError:
                continue
            # Shown to the user, never imported; masked before it is cut (no half secret left).
            return self.masked(" ".join(text.split()))[:300]
        return f"an error document of {len(document.data)} bytes recoup cannot decode"

    def fetch_document(  # noqa: PLR0917 - the report and where its document goes
        self,
        marketplace: str,
        pull: Pull,
        report_id: str,
        document_id: str,
        name: str,
        window: str,
        *,
        period: Span | None = None,
    ) -> Outcome:
        document = self.source.download(document_id, marketplace)
        if document.data.lstrip()[:40].lower().startswith(RANGE_EXCEEDED):
            # Amazon answers DONE with this one line instead of an error (All Orders, > 30 days).
            note = self.masked(" ".join(document.data.decode("utf-8", "replace").split()))[:200]
            self.finish(pull, report_id, "failed", name, note)
            return Outcome(pull.name, marketplace, window, "failed", note=f"Amazon: {note}")
        outcome = self.import_bytes(marketplace, pull, document, name, window, period=period)
        status = "imported" if outcome.state in ("imported", "duplicate") else "failed"
        self.finish(pull, report_id, status, name, outcome.note)
        return outcome

    def import_bytes(
        self,
        marketplace: str,
        pull: Pull,
        document: Document,
        name: str,
        window: str,
        *,
        period: Span | None = None,
    ) -> Outcome:
        folder = self.root / DOWNLOADS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(document.data)
        try:
            with Workspace(self.root) as workspace:
                (result,) = import_paths(
                    workspace,
                    [path],
                    account=self.account,
                    marketplace=marketplace,
                    declared_encoding=declared_encoding(document.charset),
                    period=period,
                    period_basis="synced",
                )
        finally:
            path.unlink(missing_ok=True)
        if result.status == "failed":
            note = self.masked(result.problem or "")
            return Outcome(pull.name, marketplace, window, "failed", note=note)
        note = f"{result.rejects} row(s) rejected" if result.rejects else ""
        if result.status == "duplicate":
            note = "already imported"
        return Outcome(pull.name, marketplace, window, result.status, result.rows, note)

    # -- each kind of pull -------------------------------------------------------------------

    def fetch_windows(self, plan: Plan, windows: list[Span]) -> tuple[list[Outcome], bool]:
        """Each window in turn, with up to AHEAD reports requested before the one being
        waited for (Amazon prepares them side by side: waiting for each before asking for the
        next wastes most of a sync). False when one failed: the windows after it wait (the
        pulled days must stay one unbroken range; reports already asked for are picked up by
        the next sync)."""
        out: list[Outcome] = []
        waiting: deque[tuple[Span, str]] = deque()
        ahead = iter(windows)
        for _ in range(AHEAD):
            self._ask(plan, ahead, waiting)
        while waiting:
            (start, end), report_id = waiting.popleft()
            outcome = self.collect(plan.marketplace, plan.pull, start, end, report_id)
            out.append(outcome)
            if outcome.state == "failed":
                return out, False
            self.advance(plan.marketplace, plan.pull.name, start, end, plan.target)
            self._ask(plan, ahead, waiting)
        return out, True

    def _ask(self, plan: Plan, ahead: Iterator[Span], waiting: deque[tuple[Span, str]]) -> None:
        window = next(ahead, None)
        if window is not None:
            waiting.append((window, self.request(plan.marketplace, plan.pull, *window)))

    def snapshot(self, marketplace: str, pull: Pull) -> list[Outcome]:
        outcome = self.fetch_report(marketplace, pull, None, None)
        if outcome.state != "failed":
            self.advance(marketplace, pull.name, self.today, self.today)
        return [outcome]

    def settlements(self, marketplace: str, pull: Pull, since: dt.date | None) -> list[Outcome]:
        first = self.first_day(marketplace, pull, since)
        listed = self.source.settlement_reports(
            pull.report_type, marketplace, dt.datetime.combine(first, dt.time(0), dt.UTC)
        )
        out = []
        for report in sorted(listed, key=lambda r: (r.created, r.report_id)):
            if (
                report.state != "DONE"
                or not report.document_id
                or self.done(pull, report.report_id)
            ):
                continue
            self.job(marketplace, pull, report.report_id, None, None)
            name = f"settlement_{marketplace}_{report.report_id}.txt"
            self.tell(f"{pull.title} {marketplace}: downloading report {report.report_id}")
            out.append(
                self.fetch_document(
                    marketplace,
                    pull,
                    report.report_id,
                    report.document_id,
                    name,
                    report.created[:10],
                )
            )
        if not any(o.state == "failed" for o in out):
            self.advance(marketplace, pull.name, first, self.today)
        return out or [Outcome(pull.name, marketplace, f"since {first}", "up to date")]

    def inbound(self, marketplace: str, pull: Pull, since: dt.date | None) -> list[Outcome]:
        first = self.first_day(marketplace, pull, since)
        after = dt.datetime.combine(first, dt.time(0), dt.UTC)
        before = dt.datetime.combine(self.today, dt.time(23, 59, 59), dt.UTC)
        window, out = f"{first}..{self.today}", []
        for what, key in (("shipments", "ShipmentData"), ("items", "ItemData")):
            self.tell(f"{pull.title} {marketplace}: reading {what} updated since {first}")
            records = self.source.inbound(what, marketplace, after, before)
            if not records:
                out.append(Outcome(pull.name, marketplace, window, "no data", note=what))
                continue
            data = json.dumps({"payload": {key: records}}, ensure_ascii=False, indent=1)
            name = f"inbound-{what}_{marketplace}_{first}_{self.today}.json"
            outcome = self.import_bytes(
                marketplace, pull, Document(data.encode(), "utf-8", False), name, window
            )
            outcome.note = (f"{len(records)} {what}; " + outcome.note).rstrip("; ")
            out.append(outcome)
        if not any(o.state == "failed" for o in out):
            self.advance(marketplace, pull.name, first, self.today)
        return out


class AuditWhenNew:
    """When a sync audits: after the recent phase and again at its end, each time only when
    something was imported since the last audit (`audit` does the work; the CLI and the
    dashboard each give their own)."""

    def __init__(self, audit: Callable[[], None]) -> None:
        self.audit = audit
        self.audited: int | None = None  # outcomes already audited

    def __call__(self, outcomes: list[Outcome]) -> bool:
        if not any(o.state == "imported" for o in outcomes[self.audited or 0 :]):
            return False
        self.audit()
        self.audited = len(outcomes)
        return True

    @property
    def ran(self) -> bool:
        return self.audited is not None


def run(
    sync: Sync,
    marketplaces: tuple[str, ...],
    since: dt.date | None = None,
    only: tuple[str, ...] = (),
    on_recent: Callable[[list[Outcome]], object] | None = None,
) -> list[Outcome]:
    """Pull every report (or `only` these) for every marketplace; one outcome per window.

    First the recent days of every report, the settlements, inbound shipments and snapshots:
    what every claim still open depends on (`on_recent` is called then, to audit). Then the
    backfill, newest windows first, one window of each report in turn, so that a sync stopped
    half-way leaves every report covering the same days."""
    outcomes: list[Outcome] = []
    backfills: list[Plan] = []
    try:
        for marketplace in marketplaces:
            for pull in PULLS:
                if only and pull.name not in only:
                    continue
                try:
                    if pull.how == "dated":
                        plan = sync.plan(marketplace, pull, since)
                        done, ok = sync.fetch_windows(plan, plan.recent)
                        outcomes += done
                        if ok and plan.backfill:
                            backfills.append(plan)
                    elif pull.how == "snapshot":
                        outcomes += sync.snapshot(marketplace, pull)
                    elif pull.how == "settlement":
                        outcomes += sync.settlements(marketplace, pull, since)
                    else:
                        outcomes += sync.inbound(marketplace, pull, since)
                except LoginRefused as error:  # every other request would be refused too
                    outcomes.append(Outcome(pull.name, marketplace, "", "failed", note=str(error)))
                    return outcomes
                except SourceError as error:
                    outcomes.append(Outcome(pull.name, marketplace, "", "failed", note=str(error)))
        total = sum(len(p.backfill) for p in backfills)
        sync.tell(f"recent {RECENT_DAYS} days complete; {sync.progress(0, total)}")
        if on_recent is not None:
            on_recent(outcomes)
        outcomes += _backfill(sync, backfills, total)
    finally:
        shutil.rmtree(sync.root / DOWNLOADS, ignore_errors=True)
        for outcome in outcomes:
            outcome.note = sync.masked(outcome.note)
    return outcomes


def _backfill(sync: Sync, plans: list[Plan], total: int) -> list[Outcome]:
    """The older windows, newest first: each step asks for the next window of every report,
    then waits for them in turn (Amazon prepares them side by side)."""
    out: list[Outcome] = []
    done = 0
    active = list(plans)
    for step in range(max((len(p.backfill) for p in plans), default=0)):
        asked: list[tuple[Plan, str]] = []
        for plan in [p for p in active if step < len(p.backfill)]:
            try:
                asked.append((plan, sync.request(plan.marketplace, plan.pull,
                                                 *plan.backfill[step])))  # fmt: skip
            except SourceError as error:
                out.append(Outcome(plan.pull.name, plan.marketplace, "", "failed",
                                   note=str(error)))  # fmt: skip
                active.remove(plan)
                done += len(plan.backfill) - step
        for plan, report_id in asked:
            start, end = plan.backfill[step]
            try:
                outcome = sync.collect(plan.marketplace, plan.pull, start, end, report_id)
            except SourceError as error:
                outcome = Outcome(plan.pull.name, plan.marketplace, f"{start}..{end}", "failed",
                                  note=str(error))  # fmt: skip
            out.append(outcome)
            done += 1
            if outcome.state == "failed":  # the older windows wait for the next sync
                active.remove(plan)
                done += len(plan.backfill) - step - 1
            else:
                sync.advance(plan.marketplace, plan.pull.name, start, end, plan.target)
            sync.tell(sync.progress(done, total))
    return out
