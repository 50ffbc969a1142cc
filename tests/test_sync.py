"""`recoup sync` against a fake Selling Partner API on loopback: the real client library talks
real HTTP to it (its endpoint and LWA token URL come from configuration).

Checked: the imported canonical rows and the raw bytes kept; Cp1252, UTF-8 and cp932 documents
decoded by their declared charset; a 429 waited out; CANCELLED and FATAL reports; an expired
document URL; paginated settlements and inbound items; a second sync pulling only the new
window; a sync killed while Amazon prepares a report resuming it without duplicates; the
credentials file's mode and secrets never printed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from recoup import audit as auditing
from recoup.cli import main
from recoup.engines import duckdb_engine
from recoup.ingest import import_paths
from recoup.policy import add_months, load_policy
from recoup.settings import SyncSettings
from recoup.simulate import SimConfig, key_coverage, simulate
from recoup.simulate.compare import differences
from recoup.sources import credentials as creds
from recoup.sources.catalog import PULLS
from recoup.sources.spapi import Bucket, SpApiSource, _wait_after_429
from recoup.sources.sync import RECENT_DAYS, Outcome, Sync, run
from recoup.workspace import Workspace
from tests.fake_spapi import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    Fake,
    FakeServer,
    Served,
    environment,
)

pytest.importorskip("sp_api", reason="recoup[spapi] is not installed")
access_token_client = pytest.importorskip("sp_api.auth.access_token_client")

REPORTS = Path(__file__).parent / "data" / "reports"
TODAY = dt.datetime.now(dt.UTC).date()
SINCE = TODAY - dt.timedelta(days=10)


def _bytes(name: str) -> bytes:
    return (REPORTS / name).read_bytes()


def settlement(new_id: str) -> bytes:
    return _bytes("settlements/v2_us.tsv").replace(b"11122233344", new_id.encode())


def full_fake() -> Fake:
    return Fake(
        reports={
            ("GET_LEDGER_DETAIL_VIEW_DATA", "US"): Served(
                _bytes("ledger_detail/us_spaced_2026.tsv")
            ),
            ("GET_FBA_REIMBURSEMENTS_DATA", "US"): Served(
                _bytes("reimbursements/us_cp1252.tsv"), charset="Cp1252"
            ),
            ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "US"): Served(
                _bytes("customer_returns/us.tsv"), charset="UTF-8"
            ),
            ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "JP"): Served(
                _bytes("customer_returns/jp_cp932.tsv"), charset="windows-31j"
            ),
            ("GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA", "US"): Served(
                _bytes("removal_orders/us.tsv")
            ),
            ("GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA", "US"): Served(end="FATAL"),
            ("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "US"): Served(
                _bytes("all_orders/us_first.tsv")
            ),
            ("GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA", "US"): Served(
                _bytes("fee_preview/na_cp1252.tsv"), charset="Cp1252"
            ),
            ("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "US"): Served(
                _bytes("inventory/myi_cp1252.tsv"), charset="Cp1252", expire_first=True
            ),
        },
        settlements=[
            [
                {
                    "reportId": "S1",
                    "reportDocumentId": "DS1",
                    "processingStatus": "DONE",
                    "createdTime": f"{SINCE}T08:00:00Z",
                }
            ],
            [
                {
                    "reportId": "S2",
                    "reportDocumentId": "DS2",
                    "processingStatus": "DONE",
                    "createdTime": f"{TODAY}T08:00:00Z",
                }
            ],
        ],
        shipments=_pages("shipments_api.json", "ShipmentData"),
        items=_pages("shipment_items_api.json", "ItemData"),
        throttle_first_create=True,
    )


def _pages(name: str, key: str) -> list[list[dict[str, Any]]]:
    """The fixture's record, and a second one on a second page."""
    record = json.loads(_bytes(f"inbound/{name}"))["payload"][key][0]
    second = {**record, "ShipmentId": "FBA15D7SECOND"}
    return [[record], [second]]


def serve_settlements(fake: Fake) -> None:
    fake.documents["DS1"] = Served(settlement("11122233301"))
    fake.documents["DS2"] = Served(settlement("11122233302"))


@pytest.fixture
def quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path with a recoup.toml that polls fast."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recoup.toml").write_text("[sync]\npoll_seconds = 0.01\n")
    return tmp_path


def sync(root: Path, url: str, *args: str, markets: str = "US") -> Result:
    return CliRunner().invoke(
        main, ["--workspace", str(root), "sync", *args], env=environment(url, markets)
    )


def rows(ws: Workspace, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return list(ws.con.execute(sql, list(params)).fetchall())


@pytest.mark.slow
def test_a_first_sync_imports_every_report(quick: Path) -> None:
    fake = full_fake()
    serve_settlements(fake)
    with FakeServer(fake) as url:
        result = sync(quick / "ws", url, "--since", str(SINCE), markets="US,JP")
    out = result.output
    assert result.exit_code == 1, out  # the FATAL removal shipments report
    assert "FATAL" in out
    assert "Report creation failed" in out  # Amazon's error document, shown
    assert "no data" in out  # every JP report but customer returns is CANCELLED
    assert CLIENT_SECRET not in out
    assert REFRESH_TOKEN not in out
    # The 429 was waited out and the report created on the second try.
    first = fake.created_for("GET_LEDGER_DETAIL_VIEW_DATA")
    assert len(first) == 3  # throttled once, then US and JP
    assert first[0]["dataStartTime"] == f"{SINCE}T00:00:00Z"
    assert first[0]["dataEndTime"] == f"{TODAY}T23:59:59Z"
    with Workspace(quick / "ws") as ws:
        by_table = {r[0]: r[1:] for r in rows(ws, "SELECT canonical, encoding FROM source_files")}
        assert by_table["reimbursements"][0] == "cp1252"
        assert by_table["fee_preview"][0] == "cp1252"
        assert by_table["ledger_detail"][0] in ("utf-8", "utf-8-sig")
        encodings = {
            r[0]
            for r in rows(
                ws, "SELECT encoding FROM source_files WHERE canonical = 'customer_returns'"
            )
        }
        assert encodings == {"utf-8", "cp932"}
        # The raw store keeps the document's own bytes (gzip undone, never re-encoded).
        (sha,) = rows(ws, "SELECT sha256 FROM source_files WHERE canonical = 'reimbursements'")[0]
        kept = (quick / "ws" / "raw" / sha).read_bytes()
        assert kept == _bytes("reimbursements/us_cp1252.tsv")
        assert hashlib.sha256(kept).hexdigest() == sha
        # Canonical rows, decoded strictly by the declared charset.
        names = {r[0] for r in rows(ws, "SELECT product_name FROM reimbursements")}
        expected = _bytes("reimbursements/us_cp1252.tsv").decode("cp1252").split("\n")[1]
        assert expected.split("\t")[8] in names
        jp = rows(ws, "SELECT product_name FROM customer_returns WHERE marketplace = 'JP'")
        jp_text = _bytes("customer_returns/jp_cp932.tsv").decode("cp932")
        assert jp
        assert all(name in jp_text for (name,) in jp)
        assert any(ord(c) > 0x3000 for (name,) in jp for c in name)  # kana and kanji, intact
        # Both settlement pages, both inbound pages; the MYI document after its URL expired.
        settlements = {r[0] for r in rows(ws, "SELECT DISTINCT settlement_id FROM settlements")}
        assert settlements == {"11122233301", "11122233302"}
        shipments = {r[0] for r in rows(ws, "SELECT shipment_id FROM inbound_shipment_items")}
        assert shipments == {"FBA15D7ABCDE", "FBA15D7SECOND"}
        assert rows(ws, "SELECT count(*) FROM inventory")[0][0] > 0
        (myi_doc,) = [d for d, s in fake.documents.items() if s.expire_first]
        assert fake.downloads[myi_doc] == 2
        jobs = dict(
            rows(
                ws,
                "SELECT pull || ':' || marketplace, status FROM sync_jobs "
                "WHERE pull = 'removal_shipments'",
            )
        )
        assert jobs == {"removal_shipments:US": "failed", "removal_shipments:JP": "no_data"}
    assert fake.count("getShipmentItems") == 4  # two pages, two marketplaces
    assert fake.count("getReports") == 4


@pytest.mark.slow
def test_a_second_sync_pulls_only_the_new_window(quick: Path) -> None:
    fake = full_fake()
    fake.throttle_first_create = False
    serve_settlements(fake)
    with FakeServer(fake) as url:
        assert sync(quick / "ws", url, "--since", str(SINCE)).exit_code == 1
        with Workspace(quick / "ws") as ws:
            first_rows = rows(ws, "SELECT count(*) FROM settlements_rows")[0][0]
        before = len(fake.calls)
        created_before = len(fake.created)
        downloads_before = sum(fake.downloads.values())
        again = sync(quick / "ws", url)
    later = fake.calls[before:]
    ledger = [
        b
        for op, _p, b in later
        if op == "createReport" and b["reportType"] == "GET_LEDGER_DETAIL_VIEW_DATA"
    ]
    assert len(ledger) == 1
    assert ledger[0]["dataStartTime"] == f"{TODAY - dt.timedelta(days=2)}T00:00:00Z"
    removals = [
        b
        for op, _p, b in later
        if op == "createReport"
        and b["reportType"] == "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA"
    ]
    assert (
        removals[0]["dataStartTime"] == f"{SINCE}T00:00:00Z"
    )  # 60 days of overlap, never before the first day
    # The report that failed was never pulled: it starts again like a first sync, with the
    # last 120 days, then backfills to 18 months back, newest windows first.
    shipments = [
        b
        for op, _p, b in later
        if op == "createReport"
        and b["reportType"] == "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA"
    ]
    assert shipments[0]["dataStartTime"] == f"{TODAY - dt.timedelta(days=119)}T00:00:00Z"
    # The recent windows were asked for ahead of the first, which is FATAL again: the others
    # stay requested for the next sync, and the backfill waits.
    assert len(shipments) == 4
    with Workspace(quick / "ws") as ws:
        waiting = rows(ws, "SELECT count(*) FROM sync_jobs WHERE pull = 'removal_shipments' "
                           "AND status = 'requested'")  # fmt: skip
    assert waiting == [(3,)]
    # Settlements already imported are not downloaded again; same documents import as no-ops.
    settlement_downloads = fake.downloads["DS1"] + fake.downloads["DS2"]
    assert settlement_downloads == 2
    assert len(fake.created) > created_before
    assert sum(fake.downloads.values()) > downloads_before
    assert "already imported" in again.output
    with Workspace(quick / "ws") as ws:
        assert rows(ws, "SELECT count(*) FROM settlements_rows")[0][0] == first_rows


@pytest.mark.slow
def test_a_killed_sync_resumes_the_report_without_duplicates(quick: Path) -> None:
    fake = full_fake()
    fake.throttle_first_create = False
    fake.reports[("GET_FBA_REIMBURSEMENTS_DATA", "US")].hold = True
    with FakeServer(fake) as url:
        env = {**os.environ, **environment(url)}
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "recoup",
                "--workspace",
                str(quick / "ws"),
                "sync",
                "--since",
                str(SINCE),
                "--report",
                "ledger_detail",
                "--report",
                "reimbursements",
            ],
            env=env,
            cwd=quick,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not fake.created_for("GET_FBA_REIMBURSEMENTS_DATA") or fake.count("getReport") < 4:
            assert time.monotonic() < deadline, "the sync never asked for the held report"
            assert child.poll() is None, "the sync ended before it was killed"
            time.sleep(0.05)
        # While Amazon prepares the report, the workspace is free for other commands.
        assert _requested_jobs(quick / "ws") == 1
        child.send_signal(signal.SIGKILL)
        child.wait()
        fake.release()
        resumed = sync(quick / "ws", url, "--report", "reimbursements", "--since", str(SINCE))
    assert resumed.exit_code == 0, resumed.output
    assert "resuming report" in resumed.output
    assert len(fake.created_for("GET_FBA_REIMBURSEMENTS_DATA")) == 1  # never requested twice
    with Workspace(quick / "ws") as ws:
        expected = len(_bytes("reimbursements/us_cp1252.tsv").splitlines()) - 1
        assert rows(ws, "SELECT count(*) FROM reimbursements")[0][0] == expected
        assert rows(ws, "SELECT count(*) FROM reimbursements_rows")[0][0] == expected
        assert rows(ws, "SELECT count(*) FROM ledger_detail_rows")[0][0] > 0
        states = dict(rows(ws, "SELECT status, count(*) FROM sync_jobs GROUP BY 1"))
    assert states == {"imported": 2}


def _requested_jobs(root: Path) -> int:
    """Open the workspace the sync is using (a short DB step of the sync may hold it briefly)."""
    for _ in range(100):
        try:
            with Workspace(root) as ws:
                return int(
                    rows(ws, "SELECT count(*) FROM sync_jobs WHERE status = 'requested'")[0][0]
                )
        except duckdb.IOException:
            time.sleep(0.05)
    raise AssertionError("the sync kept the workspace locked while waiting for Amazon")


def test_credentials_file_must_be_private_and_secrets_stay_hidden(tmp_path: Path) -> None:
    file = tmp_path / "spapi.toml"
    file.write_text(
        f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
        f'refresh_token = "{REFRESH_TOKEN}"\nmarketplaces = ["US", "CA"]\n'
    )
    file.chmod(0o644)
    with pytest.raises(creds.CredentialsError, match="chmod 600") as refused:
        creds.load(env={}, file=file)
    assert CLIENT_SECRET not in str(refused.value)
    file.chmod(0o600)
    loaded = creds.load(env={}, file=file)
    assert loaded.marketplaces == ("US", "CA")
    assert loaded.endpoint == "https://sellingpartnerapi-na.amazon.com"
    assert CLIENT_SECRET not in repr(loaded)
    assert REFRESH_TOKEN not in repr(loaded)
    overridden = creds.load(env={"RECOUP_SPAPI_ENDPOINT": "http://127.0.0.1:9/"}, file=file)
    assert overridden.endpoint == "http://127.0.0.1:9"
    europe = creds.load(env={"RECOUP_SPAPI_MARKETPLACES": "gb, de"}, file=file)
    assert europe.marketplaces == ("UK", "DE")
    assert europe.endpoint == "https://sellingpartnerapi-eu.amazon.com"
    with pytest.raises(creds.CredentialsError, match="unknown marketplace 'Narnia'"):
        creds.load(env={"RECOUP_SPAPI_MARKETPLACES": "US,Narnia"}, file=file)
    with pytest.raises(creds.CredentialsError, match="RECOUP_LWA_CLIENT_SECRET"):
        creds.load(env={"RECOUP_LWA_CLIENT_ID": "x", "RECOUP_SPAPI_REFRESH_TOKEN": "y"})
    missing = CliRunner().invoke(
        main,
        ["--workspace", str(tmp_path / "ws"), "sync"],
        env=dict.fromkeys((*creds.ENV.values(), creds.FILE_ENV), ""),
    )
    assert missing.exit_code != 0
    assert "RECOUP_LWA_CLIENT_ID" in missing.output


def test_refused_credentials_are_a_clear_error(quick: Path) -> None:
    fake = full_fake()
    with FakeServer(fake) as url:
        env = {**environment(url), "RECOUP_LWA_CLIENT_SECRET": "wrong-secret"}
        from sp_api.auth import access_token_client  # noqa: PLC0415 - the library's token cache

        access_token_client.cache.clear()
        result = CliRunner().invoke(
            main, ["--workspace", str(quick / "ws"), "sync", "--report", "fee_preview"], env=env
        )
    assert result.exit_code == 1
    assert "Login with Amazon refused the credentials" in result.output
    assert "wrong-secret" not in result.output


def test_pacing_and_back_off() -> None:
    waits: list[float] = []
    bucket = Bucket(rate=0.5, burst=2)
    for _ in range(3):
        bucket.take(waits.append)
    assert len(waits) == 1  # the burst of two, then one wait of about 1 / rate
    assert 1.9 < waits[0] <= 2.0
    assert _wait_after_429({"Retry-After": "3"}, 5) == 3.0
    assert _wait_after_429({"x-amzn-RateLimit-Limit": "0.5"}, 0) == 2.0
    assert _wait_after_429({"x-amzn-RateLimit-Limit": "0.5"}, 2) == 8.0
    assert _wait_after_429({}, 20) == 120.0  # never longer than two minutes


def test_a_report_still_being_prepared_is_picked_up_by_the_next_days_sync(tmp_path: Path) -> None:
    fake = full_fake()
    fake.throttle_first_create = False
    fake.reports[("GET_FBA_REIMBURSEMENTS_DATA", "US")].hold = True
    said: list[str] = []
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        impatient = SyncSettings(poll_seconds=0.01, poll_limit_minutes=0.0)
        today = Sync(tmp_path / "ws", source, "default", TODAY, impatient, say=said.append)
        (first,) = run(today, ("US",), SINCE, ("reimbursements",))
        assert first.state == "failed"
        assert "the next sync picks it up" in first.note
        fake.release()
        tomorrow = TODAY + dt.timedelta(days=1)
        later = Sync(tmp_path / "ws", source, "default", tomorrow, SyncSettings(poll_seconds=0.01),
                     say=said.append)  # fmt: skip
        outcomes = run(later, ("US",), SINCE, ("reimbursements",))
        source.close()
    assert [o.window for o in outcomes] == [f"{SINCE}..{TODAY}", f"{tomorrow}..{tomorrow}"]
    assert any("resuming report R0001" in line for line in said)
    created = fake.created_for("GET_FBA_REIMBURSEMENTS_DATA")
    assert [c["dataStartTime"][:10] for c in created] == [str(SINCE), str(tomorrow)]
    with Workspace(tmp_path / "ws") as ws:
        expected = len(_bytes("reimbursements/us_cp1252.tsv").splitlines()) - 1
        assert rows(ws, "SELECT count(*) FROM reimbursements")[0][0] == expected


@pytest.mark.slow
def test_a_partial_sync_drafts_no_claim_from_days_it_did_not_cover(quick: Path) -> None:
    """Principle 11: the sync pulled the last ten days of every report (removal shipments
    failed), but the customer returns and removal orders it imported reach back to April. A
    damaged return or a short removal then has no reimbursements download since it: its finding
    is unverified, names the download it needs, and is never drafted as a claim."""
    fake = full_fake()
    serve_settlements(fake)
    with FakeServer(fake) as url:
        result = sync(quick / "ws", url, "--since", str(SINCE), markets="US,JP")
    assert result.exit_code == 1, result.output  # the FATAL removal shipments report
    with Workspace(quick / "ws") as ws:
        covered = rows(
            ws,
            "SELECT report, marketplace, first_day, last_day, basis, file_id IS NULL "
            "FROM file_coverage WHERE report IN ('ledger_detail', 'removal_shipments') "
            "ORDER BY 1, 2",
        )
    # Each synced window covers what was asked, with rows or, when CANCELLED, without a file;
    # the FATAL one covers nothing.
    assert covered == [
        ("ledger_detail", "JP", SINCE, TODAY, "synced", True),
        ("ledger_detail", "US", SINCE, TODAY, "synced", False),
        ("removal_shipments", "JP", SINCE, TODAY, "synced", True),
    ]
    audit = CliRunner().invoke(
        main, ["--workspace", str(quick / "ws"), "audit", "--as-of", str(TODAY)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert audit.exit_code == 0, audit.output
    assert "Import the FBA Reimbursements report" in audit.output
    with Workspace(quick / "ws") as ws:
        unverified = rows(
            ws, "SELECT kind, needs FROM findings WHERE state = 'unverified' ORDER BY kind"
        )
        drafted = rows(ws, "SELECT DISTINCT kind FROM claims")
    assert [kind for kind, _ in unverified] == ["removal_short", "return_damaged_by_amazon"]
    for _, needs in unverified:
        assert needs.startswith("reimbursements 2026-")
        assert needs.endswith(f"..{TODAY}")
    assert drafted == [("inbound_shortage",)]


def _errors(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


def test_every_operation_survives_amazons_errors(tmp_path: Path) -> None:
    """5xx answers are retried, a 403 gets a fresh token once, a 400 and an answer without the
    expected field each fail their report with one clear line; the sync goes on with the rest
    and no exception escapes (the waits are recorded, not slept)."""
    fake = full_fake()
    serve_settlements(fake)
    fake.throttle_first_create = False
    fake.faults = {
        "createReport": [(500, _errors("InternalFailure", "We encountered an internal error")),
                         (202, {})],  # then a payload without reportId: the ledger window fails
        "getReport": [(503, _errors("ServiceUnavailable", "Try again"))],
        "getReportDocument": [(403, _errors("Unauthorized", "Access to requested resource is "
                                            "denied."))],
        "getReports": [(400, _errors("InvalidInput", "createdSince is too far back"))],
        "getShipmentItems": [(500, _errors("InternalFailure", "oops"))] * 8,
    }  # fmt: skip
    waits: list[tuple[str, float]] = []
    access_token_client.cache.clear()  # the library keeps tokens per process, across tests
    with FakeServer(fake) as url:
        source = SpApiSource(
            creds.load(env=environment(url)), sleep=lambda _s: None,
            on_wait=lambda op, s: waits.append((op, s)),
        )  # fmt: skip
        sync = Sync(tmp_path / "ws", source, "default", TODAY, SyncSettings(poll_seconds=0.01))
        outcomes = run(sync, ("US",), SINCE)
    by_pull: dict[str, list[Any]] = {}
    for o in outcomes:
        by_pull.setdefault(o.pull, []).append(o)
    ledger = by_pull["ledger_detail"]
    assert [o.state for o in ledger] == ["failed"]
    assert "Amazon's answer has no reportId" in ledger[0].note
    assert [o.state for o in by_pull["reimbursements"]] == ["imported"]
    (settled,) = by_pull["settlements"]
    assert settled.state == "failed"
    assert "HTTP 400: InvalidInput: createdSince is too far back" in settled.note
    inbound = by_pull["inbound"]
    assert inbound[0].state == "failed"
    assert "getShipmentItems: HTTP 500: InternalFailure: oops after 8 tries" in inbound[0].note
    # Retried with a growing wait; the 403 cost one more token, not a failure.
    assert ("createReport", 2.0) in waits
    assert ("getReport", 2.0) in waits
    assert [s for op, s in waits if op == "getShipmentItems"][:3] == [2.0, 4.0, 8.0]
    assert fake.count("token") == 2
    assert all(o.state != "failed" for o in by_pull["customer_returns"])


def test_a_revoked_token_is_one_clear_line(tmp_path: Path) -> None:
    fake = full_fake()
    fake.throttle_first_create = False
    fake.faults = {"createReport": [(403, _errors("Unauthorized", "Access denied"))] * 30}
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        sync = Sync(tmp_path / "ws", source, "default", TODAY, SyncSettings(poll_seconds=0.01))
        outcomes = run(sync, ("US",), SINCE, ("ledger_detail",))
    (only,) = outcomes
    assert only.state == "failed"
    assert "Amazon denied access (Unauthorized: Access denied)" in only.note
    assert "authorise recoup again" in only.note


def test_pacing_follows_the_rate_amazon_states(tmp_path: Path) -> None:
    """The published createReport rate is one a minute; this seller's app is allowed 2/s."""
    fake = full_fake()
    fake.throttle_first_create = False
    fake.stated_rate = "2.0"
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        assert source.buckets["createReport"].rate == pytest.approx(0.0167)
        source.create_report("GET_LEDGER_DETAIL_VIEW_DATA", "US", None, None)
    assert source.buckets["createReport"].rate == 2.0
    assert source.buckets["createReport"].burst == 15  # the burst stays


def test_a_first_sync_pulls_the_recent_days_first_then_backfills_newest_first(
    tmp_path: Path,
) -> None:
    """18 months of reimbursements: the last 120 days first (every claim still open depends on
    them; the audit can run then), then older windows, newest first, each one extending the
    pulled range back without a gap; the progress says how many are left."""
    fake = full_fake()
    fake.throttle_first_create = False
    said: list[str] = []
    recent_done: list[int] = []
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        sync = Sync(tmp_path / "ws", source, "default", TODAY, SyncSettings(poll_seconds=0.01),
                    say=said.append)  # fmt: skip
        outcomes = run(sync, ("US",), None, ("reimbursements",),
                       on_recent=lambda done: recent_done.append(len(done)))  # fmt: skip
    windows = [
        (dt.date.fromisoformat(b["dataStartTime"][:10]),
         dt.date.fromisoformat(b["dataEndTime"][:10]))
        for b in fake.created_for("GET_FBA_REIMBURSEMENTS_DATA")
    ]  # fmt: skip
    # Four reports asked for before the first is downloaded: Amazon prepares them side by side.
    calls = [op for op, _p, _b in fake.calls if op in ("createReport", "getReportDocument")]
    assert calls[:5] == ["createReport"] * 4 + ["getReportDocument"]
    recent_from = TODAY - dt.timedelta(days=119)
    recent = [w for w in windows if w[0] >= recent_from]
    older = windows[len(recent) :]
    assert recent_done == [len(recent)]
    assert recent[0][0] == recent_from
    assert recent[-1][1] == TODAY
    assert older
    assert older[0][1] == recent_from - dt.timedelta(days=1)  # newest first, no gap
    for newer, elder in itertools.pairwise(older):
        assert elder[1] == newer[0] - dt.timedelta(days=1)
    assert older[-1][0] == add_months(TODAY, -18)
    assert all(o.state in ("imported", "duplicate") for o in outcomes)
    progress = [m for m in said if m.startswith(("recent", "backfill"))]
    assert progress[0].startswith(
        f"recent 120 days complete; backfill 0 of {len(older)} reports, about "
    )
    assert progress[0].endswith("minute(s) left at Amazon's stated rate")
    assert progress[-1] == f"backfill {len(older)} of {len(older)} reports"
    with Workspace(tmp_path / "ws") as ws:
        state = rows(ws, "SELECT pulled_from, pulled_through, backfill_to FROM sync_state")
    assert state == [(add_months(TODAY, -18), TODAY, add_months(TODAY, -18))]


def test_a_range_amazon_refuses_in_the_document_is_a_failed_window(tmp_path: Path) -> None:
    """All Orders answers DONE with one line when the range is too wide (seen by sellers,
    selling-partner-api-models issue 2591): a failed window, not an unreadable import."""
    fake = full_fake()
    fake.throttle_first_create = False
    fake.reports[("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "US")] = Served(
        b"Date range exceeded. Report can be requested only upto 30 days\n"
    )
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        sync = Sync(tmp_path / "ws", source, "default", TODAY, SyncSettings(poll_seconds=0.01))
        (outcome,) = run(sync, ("US",), SINCE, ("all_orders",))
    assert outcome.state == "failed"
    assert outcome.note == "Amazon: Date range exceeded. Report can be requested only upto 30 days"
    (request,) = fake.created_for("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL")
    assert request["dataStartTime"] == f"{SINCE}T00:00:00Z"


class Clock:
    """Time that passes only when the sync sleeps: no test waits real minutes."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _first_sync(root: Path, stated_rate: str | None) -> tuple[float, int, list[Outcome]]:
    """A first sync (18 months of the ledger and reimbursements) on a clock of its own:
    (seconds, reports asked for, outcomes)."""
    fake = full_fake()
    fake.throttle_first_create = False
    fake.stated_rate = stated_rate
    serve_settlements(fake)
    clock = Clock()
    access_token_client.cache.clear()
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=clock.sleep, clock=clock)
        sync = Sync(root, source, "default", TODAY, SyncSettings(poll_seconds=2.0),
                    sleep=clock.sleep)  # fmt: skip
        outcomes = run(sync, ("US",), None, ("ledger_detail", "reimbursements"))
    return clock.now, len(fake.created), outcomes


@pytest.mark.slow
def test_a_stated_rate_of_two_a_second_makes_the_same_sync_far_faster(tmp_path: Path) -> None:
    slow, asked, outcomes = _first_sync(tmp_path / "default", None)
    fast, asked_fast, outcomes_fast = _first_sync(tmp_path / "stated", "2.0")
    assert asked == asked_fast > 30  # 18 months of two reports, 31 days a request
    assert [(o.pull, o.window, o.state) for o in outcomes] == [
        (o.pull, o.window, o.state) for o in outcomes_fast
    ]
    # At the published one createReport a minute, past the burst of 15: well over an hour.
    assert slow > 50 * (asked - 15)
    assert fast < slow / 10  # what is left is waiting for Amazon to prepare each report


@pytest.mark.slow
def test_a_stopped_backfill_resumes_where_it_stopped(tmp_path: Path) -> None:
    """Stopped (Ctrl-C) two windows into the backfill: the next sync pulls the new days, then
    goes on backwards from where the backfill stopped; no older window is asked for twice."""
    fake = full_fake()
    fake.throttle_first_create = False
    settings = SyncSettings(poll_seconds=0.01)

    def stop(text: str) -> None:
        if text.startswith("backfill 2 of"):
            raise KeyboardInterrupt

    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        with pytest.raises(KeyboardInterrupt):
            run(Sync(tmp_path / "ws", source, "default", TODAY, settings, say=stop),
                ("US",), None, ("reimbursements",))  # fmt: skip
        asked_first = len(fake.created_for("GET_FBA_REIMBURSEMENTS_DATA"))
        with Workspace(tmp_path / "ws") as ws:
            (stopped_at,) = rows(ws, "SELECT pulled_from FROM sync_state")[0]
        run(Sync(tmp_path / "ws", source, "default", TODAY, settings),
            ("US",), None, ("reimbursements",))  # fmt: skip
    windows = [(b["dataStartTime"][:10], b["dataEndTime"][:10])
               for b in fake.created_for("GET_FBA_REIMBURSEMENTS_DATA")]  # fmt: skip
    older = [w for w in windows if dt.date.fromisoformat(w[1]) < stopped_at]
    assert len(older) == len(set(older))  # nothing older asked for twice
    assert len(windows) > asked_first
    with Workspace(tmp_path / "ws") as ws:
        assert rows(ws, "SELECT pulled_from, pulled_through FROM sync_state") == [
            (add_months(TODAY, -18), TODAY)
        ]


class RecentDone(Exception):
    """Stops a sync once the recent phase is in."""


@pytest.mark.slow
def test_after_the_recent_phase_the_audit_is_exact_and_older_days_unverified(
    tmp_path: Path,
) -> None:
    """A simulated account served window by window: the sync is stopped once the last 120
    days of every report are in. The audit then agrees with the answer key of that account
    cut at the same day, its reports covering exactly the synced windows: what the recent days
    prove is claimable, what they cannot is unverified with the downloads it needs."""
    as_of = dt.date(2026, 11, 28)
    recent_from = as_of - dt.timedelta(days=RECENT_DAYS - 1)
    synced = {"ledger_detail": ("ledger-detail.txt", "Date"),
              "reimbursements": ("reimbursements.txt", "approval-date"),
              "customer_returns": ("customer-returns.txt", "return-date"),
              "removal_orders": ("removal-order-detail.txt", "request-date"),
              "removal_shipments": ("removal-shipment-detail.txt", "shipment-date")}  # fmt: skip
    config = SimConfig(seed=31, months=8, scale=0.5, as_of=as_of,
                       drop=("inbound_shipments", "inbound_shipment_items"),
                       cut=tuple((r, recent_from) for r in synced))  # fmt: skip
    simulated = simulate(config, tmp_path / "account")
    reports = tmp_path / "account" / "reports"
    types = {p.name: p.report_type for p in PULLS}
    settlements = sorted(reports.glob("settlement-*"))
    listed = [{"reportId": f"S{i}", "reportDocumentId": f"DS{i}", "processingStatus": "DONE",
               "createdTime": f"{as_of}T08:00:00Z"} for i, _ in enumerate(settlements)]  # fmt: skip
    served = {(types[r], "US"): Served((reports / name).read_bytes(), date_column=column)
              for r, (name, column) in synced.items()}  # fmt: skip
    fake = Fake(reports=served, settlements=[listed])
    for i, path in enumerate(settlements):
        fake.documents[f"DS{i}"] = Served(path.read_bytes())
    with Workspace(tmp_path / "ws") as ws:
        import_paths(ws, [reports / "sourcing-costs.csv"], account="demo", marketplace="US")

    def stop(_done: list[Outcome]) -> None:
        raise RecentDone

    access_token_client.cache.clear()
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        sync = Sync(tmp_path / "ws", source, "demo", as_of, SyncSettings(poll_seconds=0.01))
        with pytest.raises(RecentDone):
            run(sync, ("US",), None, on_recent=stop)
    with Workspace(tmp_path / "ws") as ws:
        found = auditing.run(
            duckdb_engine(ws.con), "demo", as_of, load_policy(), auditing.file_names(ws.con)
        ).findings
    # The key, with each synced report covering exactly the synced days.
    covered = {**simulated.coverage, **{r: [(recent_from, as_of)] for r in synced}}
    for finding in simulated.findings:
        opens = dt.date.fromisoformat(str(finding["window_opens"]))
        closes = dt.date.fromisoformat(str(finding["window_closes"]))
        finding["state"] = ("not_yet" if as_of < opens else "expired" if closes < as_of
                            else "claimable")  # fmt: skip
    ids = [str(f["finding_id"]) for f in simulated.findings]
    key_coverage.resolve(simulated.findings, [simulated.wants[i] for i in ids], covered, as_of)
    assert differences(simulated.findings, found) == []
    states = {f["state"] for f in found}
    assert {"claimable", "unverified"} <= states


OPERATIONS = {  # operation -> the pull that calls it
    "createReport": "ledger_detail",
    "getReport": "ledger_detail",
    "getReportDocument": "ledger_detail",
    "getReports": "settlements",
    "getShipments": "inbound",
    "getShipmentItems": "inbound",
}


@pytest.mark.parametrize("status", [429, 400, 403, 500])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_answers_each_error(tmp_path: Path, operation: str, status: int) -> None:
    """One error answer on one operation: 429, 403 and 500 end in a retry and the report is
    imported; a 400 is one clear failed line naming Amazon's error. Never an exception."""
    fake = full_fake()
    fake.throttle_first_create = False
    serve_settlements(fake)
    fake.faults = {operation: [(status, _errors(f"E{status}", f"answer {status}"))]}
    access_token_client.cache.clear()
    with FakeServer(fake) as url:
        source = SpApiSource(creds.load(env=environment(url)), sleep=lambda _s: None)
        sync = Sync(tmp_path / "ws", source, "default", TODAY, SyncSettings(poll_seconds=0.01))
        outcomes = run(sync, ("US",), SINCE, (OPERATIONS[operation],))
    failed = [o for o in outcomes if o.state == "failed"]
    if status == 400:
        assert len(failed) == 1
        assert "HTTP 400: E400: answer 400" in failed[0].note
    else:
        assert failed == [], failed
        assert any(o.state in ("imported", "duplicate") for o in outcomes)


def test_refused_credentials_stop_the_whole_sync_at_once(tmp_path: Path) -> None:
    """Every other request would be refused too: one line, no burst spent on the rest."""
    fake = full_fake()
    with FakeServer(fake) as url:
        env = {**environment(url), "RECOUP_LWA_CLIENT_SECRET": "wrong-secret"}
        access_token_client.cache.clear()
        source = SpApiSource(creds.load(env=env), sleep=lambda _s: None)
        sync = Sync(tmp_path / "ws", source, "default", TODAY, SyncSettings(poll_seconds=0.01))
        outcomes = run(sync, ("US", "JP"), SINCE)
    (only,) = outcomes
    assert only.state == "failed"
    assert "Login with Amazon refused the credentials" in only.note
    assert fake.count("token") == 1
