"""Benchmark (not a test): a 14-month first `recoup sync` against the fake SP-API on loopback.

Two runs of the same sync (every report of one US account, the fixture reports served for
every window):
1. at a stated rate of 2 requests a second (`x-amzn-RateLimit-Limit: 2.0` on every answer),
   timed on the wall clock: the target is under 2 minutes;
2. at Amazon's published default rates (createReport one a minute past a burst of 15), on a
   clock that runs only when the sync sleeps: what the sync would take, without waiting for it.
Each prints the time until the recent 120 days of every report are in (when the audit runs)
and the whole sync, against the hour a first sync took before (issue 15).

    python bench/sync.py
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from recoup.policy import add_months
from recoup.settings import SyncSettings
from recoup.sources import credentials as creds
from recoup.sources.spapi import SpApiSource
from recoup.sources.sync import Outcome, Sync, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake server lives in tests/
from tests.fake_spapi import FakeServer, environment
from tests.test_sync import Clock, full_fake, serve_settlements

MONTHS = 14
TODAY = dt.datetime.now(dt.UTC).date()


def first_sync(root: Path, *, stated: str | None, clock: Clock | None) -> tuple[float, float, int]:
    """(seconds to the recent phase, seconds in all, reports asked for)."""
    fake = full_fake()
    fake.throttle_first_create = False
    fake.stated_rate = stated
    serve_settlements(fake)
    now = clock if clock is not None else time.perf_counter
    sleep = clock.sleep if clock is not None else time.sleep
    recent_at: list[float] = []
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=sleep, clock=now)
        sync = Sync(root, source, "bench", TODAY, SyncSettings(poll_seconds=0.2), sleep=sleep)
        started = now()

        def recent(_done: list[Outcome]) -> None:
            recent_at.append(now() - started)

        run(sync, ("US",), add_months(TODAY, -MONTHS), on_recent=recent)
        total = now() - started
    return recent_at[0], total, len(fake.created)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        recent, total, asked = first_sync(Path(folder) / "stated", stated="2.0", clock=None)
        print(f"stated 2 requests/s, wall clock: {asked} reports; recent 120 days after "
              f"{recent:.1f} s, whole sync {total:.1f} s (target: under 120 s)")  # fmt: skip
        recent_d, total_d, asked_d = first_sync(Path(folder) / "default", stated=None,
                                                clock=Clock())  # fmt: skip
        print(f"published default rates, computed: {asked_d} reports; recent 120 days after "
              f"{recent_d / 60:.1f} min, whole sync {total_d / 60:.1f} min "
              f"({total_d / 3600:.2f} h; before: over an hour, nothing recent first)")  # fmt: skip
        print(f"ratio default / stated: {total_d / total:.1f}x")


if __name__ == "__main__":
    main()
