"""The dashboard's long steps, an import or an audit, run one at a time beside the pages.

A job runs in a thread and reports its progress (file by file, rule by rule) into a `Job` that
the page polls. One job at a time: two writers would only queue on the workspace anyway, and a
seller should see one clear "an audit is running" rather than two half-done bars.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoup import audit as auditing
from recoup import claims
from recoup.audit_cli import audit_account
from recoup.coverage import Span
from recoup.ingest import FileResult, import_paths
from recoup.policy import PolicyError
from recoup.settings import Settings
from recoup.workspace import Workspace, WorkspaceBusy

KEEP = 20  # finished jobs remembered for their result panels
WAIT_FOR_WORKSPACE = 60.0  # a job waits this long for another recoup process to finish


class JobRunning(RuntimeError):
    """A job is already running; says which."""


@dataclass
class Job:
    id: str
    what: str  # "import" or "audit"
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
    updated: claims.Updated | None = None
    expect: str | None = None  # the report the upload should be (sourcing costs, on Settings)
    period: Span | None = None  # the days the seller says the uploaded downloads cover

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def summary(self) -> dict[str, Any]:
        """Counts for the result panel: files by outcome, findings by kind and state."""
        found = auditing.totals(self.audit.findings, ("kind", "state", "currency")) if (
            self.audit) else {}  # fmt: skip
        return {
            "imported": sum(f.status == "imported" for f in self.files),
            "duplicate": sum(f.status == "duplicate" for f in self.files),
            "failed": sum(f.status == "failed" for f in self.files),
            "rejects": sum(f.rejects for f in self.files),
            "findings": [{"kind": k, "state": s, "currency": c, "count": n, "units": u,
                          "amount": a} for (k, s, c), (n, u, a) in sorted(found.items())],
            "claims": self.updated.lines() if self.updated else [],
        }  # fmt: skip


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
                raise JobRunning(f"an {running.what} is running (started "
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
                job.updated = claims.after_import(workspace.con, [account])

        return self._start(job, work, lambda: shutil.rmtree(folder, ignore_errors=True))

    def start_audit(self, account: str, as_of: dt.date) -> Job:
        job = Job(uuid.uuid4().hex[:12], "audit", account)

        def on_rule(kind: str, done: int, total: int) -> None:
            job.done, job.total = done, total
            job.step = f"auditing: {kind}" if kind else "storing the findings"

        def work(job: Job) -> None:
            with Workspace(self.root, wait=WAIT_FOR_WORKSPACE) as workspace:
                job.audit = audit_account(workspace, self.settings, account, as_of, on_rule=on_rule)
                job.step = "drafting claims and matching reimbursements"
                job.updated = claims.after_audit(workspace.con, account, as_of)

        return self._start(job, work, lambda: None)
