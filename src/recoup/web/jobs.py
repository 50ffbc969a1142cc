"""The dashboard's long steps, an import, an audit or a sync from Amazon, run one at a time
beside the pages.

A job runs in a thread and reports its progress (file by file, rule by rule, report window by
report window) into a `Job` that the page polls. One job at a time: two writers would only queue
on the workspace anyway, and a seller should see one clear "an audit is running" rather than two
half-done bars.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoup import audit as auditing
from recoup import claims
from recoup.coverage import Span
from recoup.findings import totals
from recoup.ingest import FileResult, import_paths
from recoup.policy import PolicyError
from recoup.settings import Settings
from recoup.sources import credentials as creds
from recoup.sources.spapi import SourceError, SpApiSource
from recoup.sources.sync import AuditWhenNew, Outcome, Sync, run
from recoup.web import db, syncing
from recoup.workspace import Workspace, WorkspaceBusy

KEEP = 20  # finished jobs remembered for their result panels
WAIT_FOR_WORKSPACE = 60.0  # a job waits this long for another recoup process to finish
COUNT_EVERY = 0.5  # seconds between two counts of the report windows a sync has finished


class JobRunning(RuntimeError):
    """A job is already running; says which."""


class JobProblem(RuntimeError):
    """A job stopped; the message is written for the seller (no traceback, no secret)."""


@dataclass
class Job:
    id: str
    what: str  # "import", "audit" or "sync"
    account: str
    started: dt.datetime = field(default_factory=dt.datetime.now)
    state: str = "running"  # running | done | failed
    step: str = "opening the workspace"
    done: int = 0
    total: int = 0
    finished: dt.datetime | None = None
    error: str | None = None
    files: list[FileResult] = field(default_factory=list)
    audit: auditing.Audit | None = None
    updates: list[claims.Updated] = field(default_factory=list)  # each import or audit's
    expect: str | None = None  # the report the upload should be (sourcing costs, on Settings)
    period: Span | None = None  # the days the seller says the uploaded downloads cover
    # A sync: where from, the report windows finished so far, then one outcome per window.
    source: str = ""
    windows: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def title(self) -> str:
        return {"import": "Import", "audit": "Audit", "sync": "Sync"}.get(self.what, self.what)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def summary(self) -> dict[str, Any]:
        """Counts for the result panel: files by outcome, findings by kind and state."""
        found = totals(self.audit.findings, ("kind", "state", "currency")) if (
            self.audit) else {}  # fmt: skip
        return {
            "imported": sum(f.status == "imported" for f in self.files),
            "duplicate": sum(f.status == "duplicate" for f in self.files),
            "failed": sum(f.status == "failed" for f in self.files),
            "rejects": sum(f.rejects for f in self.files),
            "findings": [{"kind": k, "state": s, "currency": c, "count": n, "units": u,
                          "amount": a} for (k, s, c), (n, u, a) in sorted(found.items())],
            "claims": [line for updated in self.updates for line in updated.lines()],
        }  # fmt: skip

    @property
    def synced(self) -> dict[str, Any]:
        """Counts for a sync's result panel."""
        return {
            "rows": sum(o.rows for o in self.outcomes),
            "windows": len(self.outcomes),
            "failed": sum(o.state == "failed" for o in self.outcomes),
        }


class Progress:
    """import_paths' reporter, written into the job."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def file_started(self, name: str, size: int) -> None:
        self.job.step = f"importing {name}"

    def advance(self, amount: int) -> None:
        pass

    def phase(self, text: str) -> None:
        self.job.step = text

    def file_finished(self) -> None:
        self.job.done += 1


class Jobs:
    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def current(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.running), None)

    def _start(self, job: Job, work: Callable[[Job], None], cleanup: Callable[[], None]) -> Job:
        with self._lock:
            running = self.current()
            if running is not None:
                cleanup()
                article = "an" if running.what[:1] in "aeiou" else "a"
                raise JobRunning(f"{article} {running.what} is running (started "
                                 f"{running.started:%H:%M:%S}); wait for it to finish")  # fmt: skip
            self._jobs[job.id] = job
            for old in [j for j in self._jobs.values() if not j.running][:-KEEP]:
                del self._jobs[old.id]

        def run() -> None:
            try:
                work(job)
                job.state = "done"
            except WorkspaceBusy as busy:
                job.state, job.error = "failed", str(busy)
            except (JobProblem, SourceError, creds.CredentialsError) as error:
                job.state, job.error = "failed", str(error)
            except PolicyError as error:
                job.state, job.error = "failed", f"recoup.toml: {error}"
            except Exception as error:  # shown on the page; the traceback goes to the log
                traceback.print_exc()
                job.state, job.error = "failed", f"{error.__class__.__name__}: {error}"
            finally:
                job.finished = dt.datetime.now()
                cleanup()

        threading.Thread(target=run, name=f"recoup-{job.what}-{job.id}", daemon=True).start()
        return job

    def start_import(
        self,
        folder: Path,
        account: str,
        marketplace: str | None,
        expect: str | None = None,
        period: Span | None = None,
    ) -> Job:
        """Import every file in `folder` (an upload: one numbered folder per file, holding it
        under the name it was uploaded with, which is the name it is shown and cited by), then
        delete the folder. `period`: the days the seller says these downloads cover (else they
        cover the first to last row date of them all, principle 11)."""
        paths = sorted(p for p in folder.rglob("*") if p.is_file())
        job = Job(uuid.uuid4().hex[:12], "import", account, total=len(paths), expect=expect,
                  period=period)  # fmt: skip

        def work(job: Job) -> None:
            with Workspace(self.root, wait=WAIT_FOR_WORKSPACE) as workspace:
                job.files = import_paths(
                    workspace, paths, account=account, marketplace=marketplace,
                    reporter=Progress(job), name_of=lambda path: path.name, period=period,
                )  # fmt: skip
                job.step = "matching reimbursements to filed claims"
                job.updates.append(claims.after_import(workspace.con, [account]))

        return self._start(job, work, lambda: shutil.rmtree(folder, ignore_errors=True))

    def start_audit(self, account: str, as_of: dt.date) -> Job:
        job = Job(uuid.uuid4().hex[:12], "audit", account)

        def on_rule(kind: str, done: int, total: int) -> None:
            job.done, job.total = done, total
            job.step = f"auditing: {kind}" if kind else "storing the findings"

        return self._start(job, lambda job: self._audit(job, account, as_of, on_rule), lambda: None)

    def _audit(self, job: Job, account: str, as_of: dt.date, on_rule: auditing.OnRule) -> None:
        """Audit and bring the claims in line (audit.audit_and_claims), saying which step runs."""
        with Workspace(self.root, wait=WAIT_FOR_WORKSPACE) as workspace:
            job.audit = auditing.audit_account(
                workspace, self.settings, account, as_of, on_rule=on_rule
            )
            job.step = "drafting claims and matching reimbursements"
            job.updates.append(claims.after_audit(workspace.con, account, as_of))

    def start_sync(self, account: str) -> Job:
        """Pull the reports from Amazon's Selling Partner API like `recoup sync` (every report,
        every marketplace the credentials name, from where the last sync stopped), then audit
        what it brought and match the claims. Amazon's and the library's errors end the job
        with their message, never a traceback; no secret value reaches the page."""
        job = Job(uuid.uuid4().hex[:12], "sync", account, step="reading the credentials")
        secrets: list[str] = []

        def work(job: Job) -> None:
            try:
                self._sync(job, secrets)
            except (WorkspaceBusy, PolicyError):
                raise
            except creds.CredentialsError as error:
                raise JobProblem(f"Amazon credentials: {error}") from None  # names, no values
            except SourceError as error:
                raise JobProblem(syncing.scrub(str(error), secrets)) from None
            except Exception as error:
                traceback.print_exc()  # the details go to the server's log, not the page
                raise JobProblem(syncing.scrub(f"The sync stopped: {error.__class__.__name__}: "
                                               f"{error}", secrets)) from None  # fmt: skip

        return self._start(job, work, lambda: None)

    def _sync(self, job: Job, secrets: list[str]) -> None:
        credentials = creds.load()
        secrets += syncing.secrets_of(credentials)
        account, today = job.account, dt.datetime.now(dt.UTC).date()
        job.source = (f"{', '.join(credentials.marketplaces)} from "
                      f"{syncing.endpoint_host(credentials.endpoint)}")  # fmt: skip

        job.step = "opening the workspace"
        with Workspace(self.root, wait=WAIT_FOR_WORKSPACE) as workspace:
            before = syncing.last_finished(workspace.con, account)

        def say(text: str) -> None:
            job.step = syncing.scrub(text, secrets)
            fraction = syncing.backfill_fraction(text)
            if fraction:
                job.done, job.total = fraction
            count()

        counted = [0.0]

        def count() -> None:
            """The report windows finished since the job began (Amazon prepares several side
            by side, so the lines alone do not say)."""
            if time.monotonic() - counted[0] < COUNT_EVERY:
                return
            counted[0] = time.monotonic()
            try:
                with db.connection(self.root, wait=0.5) as con:
                    job.windows = syncing.windows_finished(con, account, before)
            except Exception:  # a count missed is no reason to stop a sync
                return

        def waited(operation: str, seconds: float) -> None:
            job.step = f"Amazon throttled {operation}: waiting {seconds:.1f} s"

        source = SpApiSource(credentials, on_wait=waited)
        try:
            sync = Sync(self.root, source, account, today, self.settings.sync, say=say,
                        sleep=time.sleep)  # fmt: skip

            def audit() -> None:
                """Audit what the sync brought so far, as `recoup sync` does."""

                def on_rule(kind: str, done: int, total: int) -> None:
                    job.step = (f"auditing what the sync brought: {kind} ({done} of {total})"
                                if kind else "storing the findings")  # fmt: skip

                self._audit(job, account, today, on_rule)

            audits = AuditWhenNew(audit)
            job.step = f"syncing {job.source}"
            outcomes = run(sync, credentials.marketplaces, None, (), on_recent=audits)
        finally:
            source.close()
        for outcome in outcomes:
            outcome.note = syncing.scrub(outcome.note, secrets)
        job.outcomes, job.windows = outcomes, len(outcomes)
        if not audits(outcomes) and not audits.ran:  # nothing new: reimbursements may match
            job.step = "matching reimbursements to filed claims"
            with Workspace(self.root, wait=WAIT_FOR_WORKSPACE) as workspace:
                job.updates.append(claims.after_import(workspace.con, [account]))
