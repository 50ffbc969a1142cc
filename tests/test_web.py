"""The dashboard, for real: `recoup serve` in a subprocess on a free port, driven by Playwright
in Debian's Chromium (the full seller flow, escaping), and by plain HTTP (password, CSRF, the
loopback host check, a busy workspace)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect, sync_playwright

from recoup.cli import main
from recoup.simulate import SimConfig, simulate
from recoup.web.routes.login import next_page
from recoup.web.routes.settings import windows
from recoup.workspace import DB_NAME, connect
from tests.claim_files import newer_reimbursements, payment
from tests.fake_spapi import CLIENT_SECRET, REFRESH_TOKEN, Fake, FakeServer, Served
from tests.fake_spapi import environment as spapi_env
from tests.web_server import CHROMIUM_ARGS, chromium_or_skip, clean_env, serving

REPORTS = Path(__file__).parent / "data" / "reports"
TODAY = dt.date.today()  # the server files claims and compares windows with today
HOSTILE = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
JOB_SECONDS = 180_000  # ms: an import or audit job on 2 slow cores


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated seller's reports, up to today, with the real files' quirks."""
    folder = tmp_path_factory.mktemp("web")
    simulate(SimConfig(seed=11, as_of=TODAY), folder / "account", quirks=True)
    return folder / "account" / "reports"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors  # no script error on any page


def cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--workspace", str(root), *args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def amount(page: Page, measure: str) -> Decimal:
    cell = page.locator(f"#figure-{measure}-USD .amount")
    return Decimal(cell.get_attribute("data-amount") or "0")


def wait_for_job(page: Page) -> None:
    panel = page.locator("#job-panel")
    expect(panel).to_have_attribute("data-state", re.compile("done|failed"), timeout=JOB_SECONDS)
    expect(panel).to_have_attribute("data-state", "done")


def members(root: Path, claim_id: str) -> list[dict[str, Any]]:
    """The claim's findings, straight from the file."""
    return stored(
        root, "SELECT * FROM claim_findings WHERE claim_id = ? AND removed_on IS NULL", claim_id
    )


# -- the seller's whole flow in the browser ------------------------------------------------------


@pytest.mark.browser
def test_upload_audit_file_a_claim_and_see_it_reimbursed(
    account: Path, page: Page, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    with serving(root, tmp_path) as base:
        page.goto(base + "/")
        expect(page.get_by_text("No audit yet")).to_be_visible()

        # Upload every report at once, for a new account.
        page.goto(base + "/imports")
        reports = sorted(p for p in account.iterdir() if p.is_file())
        stray = tmp_path / "holiday-photos.txt"
        stray.write_text("not a report\tat all\n1\t2\n")
        page.set_input_files("input[name=files]", [*map(str, reports), str(stray)])
        page.select_option("select[name=marketplace]", "US")
        page.fill("input[name=account]", "shop1")
        page.get_by_role("button", name="Import").click()
        wait_for_job(page)
        expect(page.locator("form progress.upload")).to_be_visible()  # the upload's own bar
        panel = page.locator("#job-panel")
        expect(panel).to_contain_text(f"{len(reports)} imported, 0 already imported, 1 failed")
        expect(panel.locator("tr.failed")).to_contain_text("holiday-photos.txt")
        assert "recoup-upload" not in panel.inner_text()  # files keep the names they had
        expect(panel).to_contain_text("Inventory Ledger")
        expect(panel).to_contain_text("FBA Reimbursements")

        # Run the audit from the browser.
        page.reload()
        expect(page.locator("select[name=account]")).to_have_value("shop1")
        page.get_by_role("button", name="Run the audit").click()
        wait_for_job(page)
        expect(page.locator("#job-panel")).to_contain_text("new draft claim(s)")

        # The money figures.
        page.goto(base + "/")
        expect(page.locator("h1")).to_have_text("What Amazon owes shop1")
        assert amount(page, "claimable") > 0
        assert amount(page, "detected") >= amount(page, "claimable")
        recovered_before = amount(page, "recovered")
        assert recovered_before == 0
        expect(page.locator("canvas[data-chart=owed]")).to_have_attribute("data-drawn", "1")

        # A finding opens its evidence: the report rows, with file and line.
        page.goto(base + "/findings")
        everything = page.locator("#findings-count").inner_text()
        page.select_option("select[name=kind]", "inbound_shortage")
        expect(page.locator("#findings-count")).not_to_have_text(everything)
        expect(page).to_have_url(re.compile("kind=inbound_shortage"))
        assert page.locator("#results tr.finding").count() > 0
        for row in page.locator("#results tr.finding").all():
            expect(row).to_contain_text("Units shipped to Amazon but not received")
        page.locator("#results tr.finding").first.get_by_role("button", name="Evidence").click()
        evidence = page.locator("#evidence-1 .evidence")
        expect(evidence).to_contain_text("inbound-shipment-items.csv")
        assert re.search(r"inbound-shipment-items\.csv\s+\d+", evidence.inner_text())

        # Open an inbound draft: its case text, the copy button, the evidence CSV.
        page.goto(base + "/claims?state=draft&kind=inbound_shortage")
        page.locator("#claims-list tbody a").first.click()
        claim_id = page.locator("h1").inner_text().split(":")[0].removeprefix("Claim ").strip()
        expect(page.locator("#case-text")).to_contain_text("Subject:")
        page.get_by_role("button", name="Copy the case text").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("Subject:")
        with page.expect_download() as download:
            page.get_by_role("link", name="Evidence CSV").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
        assert rows
        assert {"report", "file", "line"} <= set(rows[0])

        # File it with a case id.
        page.fill("input[name=case_id]", "5550001234")
        page.get_by_role("button", name="Mark filed").click()
        expect(page.locator("#claim-state")).to_have_text("filed")
        expect(page.locator("#claim")).to_contain_text("Filed as case 5550001234")

        # Amazon pays on that case: a newer Reimbursements download, uploaded in the browser.
        units = sum(m["quantity"] for m in members(root, claim_id))
        first = members(root, claim_id)[0]
        paid = payment({}, first, case_id="5550001234", reason="Lost_Inbound",
                       approval_date=f"{TODAY}T10:00:00+00:00",
                       quantity_reimbursed_cash=units, quantity_reimbursed_total=units,
                       amount_total=f"{units * 7}.50")  # fmt: skip
        newer = newer_reimbursements(
            account / "reimbursements.txt", tmp_path / "reimbursements-newer.txt", [paid]
        )
        page.goto(base + "/imports")
        page.set_input_files("input[name=files]", str(newer))
        page.select_option("select[name=marketplace]", "US")
        page.get_by_role("button", name="Import").click()
        wait_for_job(page)
        expect(page.locator("#job-panel")).to_contain_text(f"matched to filed claims {claim_id}")

        page.goto(base + f"/claims/{claim_id}")
        expect(page.locator("#claim-state")).to_have_text("reimbursed")
        page.goto(base + "/")
        assert amount(page, "recovered") - recovered_before == Decimal(f"{units * 7}.50")


# -- proof of absence: a partial account ---------------------------------------------------------


def stored(root: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows straight from the workspace file. The server holds it only for a moment per page
    (a section reloading as a job ends may still hold it): wait for it as recoup does."""
    con = connect(root / DB_NAME, read_only=True)
    try:
        cursor = con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


@pytest.mark.browser
def test_a_partial_account_shows_what_is_unverified_and_what_to_download(
    page: Page, tmp_path: Path
) -> None:
    """Every report but Customer Returns: the refunds without a return cannot be proven. The
    overview, the downloads list, the coverage checklist and the findings say so; a wrong period
    imports nothing; the missing file with its stated period proves them."""
    small = SimConfig(seed=31, months=8, scale=0.5, as_of=TODAY)
    simulate(dataclasses.replace(small, drop=("customer_returns",)), tmp_path / "partial")
    simulate(small, tmp_path / "complete")
    returns = tmp_path / "complete" / "reports" / "customer-returns.txt"
    root = tmp_path / "ws"
    cli(root, "import", "--account", "shop", "--marketplace", "US",
        str(tmp_path / "partial" / "reports"))  # fmt: skip
    cli(root, "audit", "--account", "shop")
    findings = stored(root, "SELECT * FROM findings WHERE account = 'shop'")
    unverified = [f for f in findings if f["state"] == "unverified"]
    assert unverified
    assert all(f["needs"].startswith("customer_returns ") for f in unverified)
    still_open = [f for f in unverified if f["window_closes"] >= TODAY]
    assert still_open
    claimable = [f for f in findings if f["state"] == "claimable"]
    history = stored(root, "SELECT min(first_day) AS day FROM file_coverage")[0]["day"]
    reimbursed_to = stored(root, "SELECT max(last_day) AS day FROM file_coverage "
                                 "WHERE report = 'reimbursements'")[0]["day"]  # fmt: skip
    with serving(root, tmp_path) as base:
        # The overview: unverified money apart from the claimable money.
        page.goto(base + "/")
        assert amount(page, "unverified") == sum(f["amount"] for f in still_open)
        count = page.locator("#figure-unverified-USD .count")
        expect(count).to_have_attribute("data-count", str(len(still_open)))
        assert amount(page, "claimable") == sum(f["amount"] for f in claimable)

        # Its link: the downloads that would verify them, Customer Returns first.
        page.locator("#figure-unverified-USD").get_by_role("link", name="what to download").click()
        expect(page).to_have_url(base + "/imports#downloads")
        line = page.locator("#downloads tr.download").first
        expect(line).to_have_attribute("data-report", "customer_returns")
        expect(line).to_contain_text("FBA Customer Returns")
        expect(line).to_contain_text("Customer Concessions")
        expect(line).to_contain_text("US")
        expect(line.locator(".findings")).to_have_text(str(len(still_open)))
        expect(line.locator(".amount")).to_have_attribute(
            "data-amount", str(sum(f["amount"] for f in still_open))
        )
        firsts = [f["needs"].split()[1].split("..")[0] for f in still_open]
        expect(line.locator(".days")).to_have_text(f"{min(firsts)}..{TODAY}")

        # The checklist: no day of Customer Returns is covered; Reimbursements reach today.
        checklist = page.locator("#coverage tr.coverage-row")
        gap = checklist.and_(page.locator("[data-report=customer_returns][data-marketplace=US]"))
        expect(gap).to_have_class(re.compile(r"\bincomplete\b"))
        expect(gap.locator(".last")).to_have_text("never imported")
        expect(gap.locator(".gap")).to_have_text(re.compile(rf"^{history}\.\.{TODAY} "))
        expect(page.locator("#coverage tbody[data-report=customer_returns]")).to_contain_text(
            "Customer refunded but the item was not returned"
        )
        paid = checklist.and_(page.locator("[data-report=reimbursements][data-marketplace=US]"))
        expect(paid).to_have_class(re.compile(r"\bcomplete\b"))
        expect(paid.locator(".last")).to_have_text(str(reimbursed_to))

        # The findings filter lists them, each with the download it needs.
        page.goto(base + "/findings")
        page.select_option("select[name=state]", "unverified")
        expect(page).to_have_url(re.compile("state=unverified"))
        expect(page.locator("#findings-count")).to_have_text(f"{len(unverified):,} finding(s)")
        needs = {f["finding_id"]: f["needs"] for f in unverified}
        rows = page.locator("#results tr.finding")
        expect(rows).to_have_count(min(len(unverified), 50))
        for row in rows.all()[:10]:
            evidence = row.get_by_role("button", name="Evidence").get_attribute("hx-get") or ""
            finding_id = evidence.split("/")[2]
            expect(row.locator(".state")).to_have_text("unverified")
            days = needs[finding_id].removeprefix("customer_returns ")
            expect(row.locator(".needs")).to_have_text(f"needs FBA Customer Returns {days}")

        # A wrong period is refused in the page, and nothing is imported.
        files = len(stored(root, "SELECT file_id FROM source_files"))
        page.goto(base + "/imports")
        page.set_input_files("input[name=files]", str(returns))
        page.select_option("select[name=marketplace]", "US")
        for period, problem in [(f"{TODAY}..{history}", "starts"),
                                (f"{history}..{TODAY + dt.timedelta(days=1)}", "future"),
                                ("<b>since</b> March", "not a period")]:  # fmt: skip
            page.fill("input[name=period]", period)
            page.get_by_role("button", name="Import").click()
            expect(page.locator("#job [role=alert]")).to_contain_text(problem)
            expect(page.locator("#job [role=alert]")).to_contain_text(period)  # as text
        assert page.locator("#job b").count() == 0
        assert len(stored(root, "SELECT file_id FROM source_files")) == files
        assert not stored(root, "SELECT * FROM file_coverage WHERE report = 'customer_returns'")

        # The missing download, with the period it was asked for: the checklist fills in.
        page.fill("input[name=period]", f"{history}..{TODAY}")
        page.get_by_role("button", name="Import").click()
        wait_for_job(page)
        expect(page.locator("#job-panel")).to_contain_text(f"Stated to cover {history}..{TODAY}")
        expect(gap).to_have_class(re.compile(r"\bcomplete\b"))  # without reloading the page
        expect(gap.locator(".last")).to_have_text(str(TODAY))
        covered = stored(root, "SELECT first_day, last_day, basis FROM file_coverage "
                               "WHERE report = 'customer_returns'")  # fmt: skip
        assert covered == [{"first_day": history, "last_day": TODAY, "basis": "stated"}]

        # The audit again: nothing is left unverified.
        page.get_by_role("button", name="Run the audit").click()
        expect(page.locator("#job-panel h3")).to_contain_text("Audit for shop")
        wait_for_job(page)
        expect(page.locator("#downloads-none")).to_be_visible()
        page.goto(base + "/")
        assert amount(page, "unverified") == 0


# -- Sync now: reports from a fake Selling Partner API -------------------------------------------

BAD = "rgb(209, 73, 91)"  # app.css --bad: a failed window's row


def small_fake() -> Fake:
    """Ledger and Reimbursements with data, Removal shipments FATAL, All Orders held at IN_PROGRESS
    until released (so the test sees the sync running); every other report CANCELLED (no data).
    Amazon states a fast rate, so pacing does not wait a minute per report."""
    return Fake(
        reports={
            ("GET_LEDGER_DETAIL_VIEW_DATA", "US"): Served(
                (REPORTS / "ledger_detail" / "us_spaced_2026.tsv").read_bytes()
            ),
            ("GET_FBA_REIMBURSEMENTS_DATA", "US"): Served(
                (REPORTS / "reimbursements" / "us_cp1252.tsv").read_bytes(), charset="Cp1252"
            ),
            ("GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA", "US"): Served(end="FATAL"),
            ("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "US"): Served(
                (REPORTS / "all_orders" / "us_first.tsv").read_bytes(), hold=True
            ),
        },
        stated_rate="100.0",
    )


def wait_for_panel(client: httpx.Client, base: str, started: httpx.Response) -> str:
    """Poll a job started over plain HTTP until it ends; its panel."""
    panel = re.search(r'hx-get="(/jobs/\w+)"', started.text)
    if panel is None:  # it ended before the answer was written
        return started.text
    for _ in range(1200):
        done = client.get(base + panel[1]).text
        if 'data-state="running"' not in done:
            return done
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


@pytest.mark.browser
def test_sync_now_pulls_the_reports_into_the_imports_page(page: Page, tmp_path: Path) -> None:
    pytest.importorskip("sp_api", reason="recoup[spapi] is not installed")
    (tmp_path / "recoup.toml").write_text("[sync]\npoll_seconds = 0.01\n")
    root = tmp_path / "ws"
    fake = small_fake()
    with FakeServer(fake) as url, serving(root, tmp_path, env=clean_env(**spapi_env(url))) as base:
        page.goto(base + "/imports")
        host = url.removeprefix("http://")
        expect(page.locator("#sync .credentials")).to_contain_text(
            f"marketplaces US; endpoint {host}"
        )
        expect(page.locator("#sync .last-sync")).to_contain_text("No sync yet")
        page.get_by_role("button", name="Sync now").click()

        # While it runs: Amazon's latest line and the windows done so far.
        panel = page.locator("#job-panel")
        expect(panel.locator("h3")).to_contain_text("Sync for default: running")
        step = panel.locator(".sync-step")
        expect(step).to_contain_text("All Orders US", timeout=JOB_SECONDS)
        expect(step).to_contain_text("Amazon is preparing report")
        expect(panel.locator(".sync-windows")).to_contain_text(
            re.compile(r"^[1-9]\d* report window\(s\) done")
        )
        # Another job meanwhile is refused: one at a time.
        page.get_by_role("button", name="Run the audit").click()
        expect(page.locator("#job [role=alert]")).to_contain_text("a sync is running")
        page.goto(base + "/imports")  # the running job's panel comes back with the page
        fake.release()
        # The backfill gives a fraction.
        expect(panel.locator("progress")).to_have_attribute("max", re.compile(r"^\d+$"),
                                                            timeout=JOB_SECONDS)  # fmt: skip
        expect(panel.locator(".sync-windows")).to_contain_text("backfill")
        expect(panel).to_have_attribute("data-state", re.compile("done|failed"),
                                        timeout=JOB_SECONDS)  # fmt: skip
        expect(panel).to_have_attribute("data-state", "done")

        # The outcomes: what each report window brought, failures in red; then the audit.
        outcomes = panel.locator("table.sync-outcomes")
        reimbursed = outcomes.locator("tr.imported", has_text="Reimbursements")
        expect(reimbursed).to_have_count(1)
        expect(reimbursed.locator("td.num")).to_have_text("4")
        failed = outcomes.locator("tr.failed")
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("Removal Shipment Detail")
        expect(failed.locator(".note")).to_contain_text("FATAL")
        expect(failed.locator(".note")).to_contain_text("Report creation failed")
        expect(failed.locator("td").first).to_have_css("color", BAD)
        expect(outcomes.locator("tr.no-data").first).to_contain_text("FBA Customer Returns")
        expect(panel.locator(".sync-total")).to_contain_text("1 failed")
        expect(panel).to_contain_text("finding(s) as of")
        expect(panel.locator(".claims-update").first).to_be_visible()

        # The last sync, from sync_jobs (the section reloads when the job ends).
        last = page.locator("#sync .last-sync")
        expect(last).to_contain_text(f"Last sync: finished {TODAY:%Y-%m-%d}")
        expect(last).to_contain_text("1 failed")
        expect(last.locator(".no-data")).to_contain_text(re.compile(r"^[1-9]\d* with no data"))
        expect(page.locator("#sync .last-failure")).to_contain_text("Removal Shipment Detail US")
        expect(page.locator("#sync .last-failure")).to_contain_text("Report creation failed")
        jobs = stored(root, "SELECT status, count(*) AS n FROM sync_jobs GROUP BY status")
        imported = {r["status"]: r["n"] for r in jobs}["imported"]
        expect(last.locator(".imported")).to_have_text(f"{imported} window(s) imported")

        # The imported rows, on the Imports page.
        page.reload()
        held = stored(root, "SELECT canonical, sum(rows) AS rows FROM source_files "
                            "GROUP BY canonical")  # fmt: skip
        assert {r["canonical"] for r in held} >= {"ledger_detail", "reimbursements", "all_orders"}
        reimbursements = next(r["rows"] for r in held if r["canonical"] == "reimbursements")
        holds = page.locator("h2", has_text="What the workspace holds").locator(
            "xpath=following-sibling::table[1]"
        )
        row = holds.locator("tr", has_text="FBA Reimbursements")
        expect(row.locator("td.num").nth(1)).to_have_text(f"{reimbursements:,}")
        expect(page.locator("#files")).to_contain_text("GET_FBA_REIMBURSEMENTS_DATA_US_")
        html = page.content()
        assert CLIENT_SECRET not in html
        assert REFRESH_TOKEN not in html


@pytest.mark.browser
def test_sync_without_credentials_is_disabled_and_secrets_never_show(
    page: Page, tmp_path: Path
) -> None:
    pytest.importorskip("sp_api", reason="recoup[spapi] is not installed")
    secret, token = "sentinel-secret-3f9a2c", "Atzr|sentinel-refresh-81d7e4"
    root = tmp_path / "ws"
    # Two secrets but no client id: not configured, the button is disabled, the page says how.
    env = clean_env(RECOUP_LWA_CLIENT_SECRET=secret, RECOUP_SPAPI_REFRESH_TOKEN=token)
    with serving(root, tmp_path, env=env) as base:
        page.goto(base + "/imports")
        expect(page.get_by_role("button", name="Sync now")).to_be_disabled()
        missing = page.locator("#sync .credentials")
        expect(missing).to_have_attribute("data-configured", "0")
        expect(missing).to_contain_text("not configured: missing RECOUP_LWA_CLIENT_ID")
        how = page.locator("#sync .how-to")
        for name in ("RECOUP_LWA_CLIENT_ID", "RECOUP_LWA_CLIENT_SECRET",
                     "RECOUP_SPAPI_REFRESH_TOKEN", "RECOUP_SPAPI_CREDENTIALS",
                     "chmod 600"):  # fmt: skip
            expect(how).to_contain_text(name)
        html = page.content()
        assert secret not in html
        assert token not in html
        # A page left open from before: the job says what is missing, without a traceback.
        with httpx.Client(timeout=30) as client:
            csrf = token_of(client, base, "/imports")
            started = client.post(base + "/sync", headers={"X-CSRF-Token": csrf})
            assert started.status_code == 200
            ended = wait_for_panel(client, base, started)
        assert 'data-state="failed"' in ended
        assert "Amazon credentials: missing RECOUP_LWA_CLIENT_ID" in ended
        assert "Traceback" not in ended
        assert secret not in ended
        assert token not in ended

    # Configured, but Login with Amazon refuses the secret: the marketplaces and the endpoint's
    # host are shown, the secret never; each report says why it failed. (One marketplace: the
    # refused requests still count against createReport's burst of 15.)
    with FakeServer(small_fake()) as url:
        env = clean_env(**{**spapi_env(url, "us"), "RECOUP_LWA_CLIENT_SECRET": secret,
                           "RECOUP_SPAPI_REFRESH_TOKEN": token})  # fmt: skip
        with serving(root, tmp_path, env=env) as base:
            page.goto(base + "/imports")
            configured = page.locator("#sync .credentials")
            expect(configured).to_have_attribute("data-configured", "1")
            expect(configured).to_contain_text("from the environment: marketplaces US;")
            expect(configured).to_contain_text(url.removeprefix("http://"))
            button = page.get_by_role("button", name="Sync now")
            expect(button).to_be_enabled()
            assert secret not in page.content()
            assert token not in page.content()
            button.click()
            panel = page.locator("#job-panel")
            expect(panel).to_have_attribute("data-state", re.compile("done|failed"),
                                            timeout=JOB_SECONDS)  # fmt: skip
            failed = panel.locator("table.sync-outcomes tr.failed")
            expect(failed.first).to_contain_text("Login with Amazon refused the credentials")
            expect(failed.first.locator("td").first).to_have_css("color", BAD)
            assert "Traceback" not in panel.inner_text()
            html = page.content()
            assert secret not in html
            assert token not in html


# -- escaping ------------------------------------------------------------------------------------


def hostile_copy(source: Path, target: Path) -> Path:
    """The reports with every product title and customer comment replaced by HTML."""
    target.mkdir()
    columns = {"Title", "product-name", "customer-comments"}
    for path in source.iterdir():
        raw = path.read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        encoding = "utf-8-sig" if bom else "cp1252"
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            encoding, text = "utf-8", raw.decode("utf-8")
        lines = text.splitlines(keepends=True)
        sep = "\t" if "\t" in lines[0] else ","
        header = [h.strip().strip('"') for h in lines[0].rstrip("\r\n").split(sep)]
        wanted = [i for i, h in enumerate(header) if h in columns]
        if wanted and sep == "\t":
            out = [lines[0]]
            for line in lines[1:]:
                end = line[len(line.rstrip("\r\n")) :]
                cells = line.rstrip("\r\n").split(sep)
                for i in wanted:
                    if i < len(cells):
                        cells[i] = HOSTILE
                out.append(sep.join(cells) + end)
            text = "".join(out)
        (target / path.name).write_bytes(text.encode(encoding))
    return target


@pytest.mark.browser
def test_product_titles_and_customer_comments_are_shown_as_text(
    account: Path, page: Page, tmp_path: Path
) -> None:
    reports = hostile_copy(account, tmp_path / "reports")
    root = tmp_path / "ws"
    cli(root, "import", "--account", "demo", "--marketplace", "US", str(reports))
    cli(root, "audit", "--account", "demo")
    with serving(root, tmp_path) as base:
        for kind in ("warehouse_lost", "return_damaged_by_amazon"):
            page.goto(base + f"/findings?kind={kind}")
            page.locator("#results tr.finding").first.get_by_role("button", name="Evidence").click()
            evidence = page.locator("#evidence-1 .evidence")
            expect(evidence).to_contain_text("<script>window.__pwned = 1</script>")
        assert page.evaluate("window.__pwned") is None
        assert page.locator('img[src="x"]').count() == 0
        claim = page.request.get(base + "/claims?state=draft")
        assert claim.ok
        assert "<script>window" not in claim.text()
        headers = page.request.get(base + "/").headers
        assert "script-src 'self'" in headers["content-security-policy"]


# -- password, CSRF, the loopback host check -----------------------------------------------------


def token_of(client: httpx.Client, base: str, path: str = "/") -> str:
    found = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', client.get(base + path).text)
    assert found, "the page carries no CSRF token"
    return found[1]


def serve_in_public(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recoup", "--workspace", str(folder / "ws"), "serve",
         "--host", "0.0.0.0", "--port", "1"],
        cwd=folder, env=clean_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_binding_beyond_loopback_needs_a_password(tmp_path: Path) -> None:
    result = serve_in_public(tmp_path)
    assert result.returncode != 0
    assert "needs a password" in result.stderr
    assert "RECOUP_WEB_PASSWORD" in result.stderr
    # A password file readable by others is refused too.
    loose = tmp_path / "password"
    loose.write_text("hunter2-but-longer\n")
    loose.chmod(0o644)
    (tmp_path / "recoup.toml").write_text(f'[web]\npassword_file = "{loose}"\n')
    result = serve_in_public(tmp_path)
    assert result.returncode != 0
    assert "chmod 600" in result.stderr


def test_password_login_and_csrf_on_a_public_bind(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("correct horse battery\n")
    secret.chmod(0o600)
    (tmp_path / "recoup.toml").write_text(f'[web]\npassword_file = "{secret}"\n')
    with serving(tmp_path / "ws", tmp_path, host="0.0.0.0") as base, httpx.Client() as client:
        # Nothing is shown before logging in.
        first = client.get(base + "/findings")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/findings"
        assert client.get(base + "/claims", headers={"HX-Request": "true"}).status_code == 401
        assert client.get(base + "/static/app.css").status_code == 200
        # The login form itself is protected: no token, no login.
        refused = client.post(base + "/login", data={"password": "correct horse battery"})
        assert refused.status_code == 403
        token = token_of(client, base, "/login")
        wrong = client.post(base + "/login", data={"password": "guess"},
                            headers={"X-CSRF-Token": token})  # fmt: skip
        assert wrong.status_code == 401
        assert "not right" in wrong.text
        before = client.cookies.get("recoup_session")
        login = {"password": "correct horse battery", "next": "/claims"}
        right = client.post(base + "/login", data=login, headers={"X-CSRF-Token": token})
        assert right.status_code == 204
        assert right.headers["HX-Redirect"] == "/claims"
        assert client.cookies.get("recoup_session") != before  # a new session on login
        assert client.get(base + "/findings").status_code == 200
        # Changes need this session's token, and refuse other sites.
        action = base + "/claims/C1/resolve"
        assert client.post(action, data={"outcome": "withdrawn"}).status_code == 403
        assert client.post(action, data={"outcome": "withdrawn"},
                           headers={"X-CSRF-Token": token}).status_code == 403  # fmt: skip
        token = token_of(client, base)
        assert client.post(action, data={"outcome": "withdrawn"},
                           headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
                           ).status_code == 403  # fmt: skip
        allowed = client.post(action, data={"outcome": "withdrawn"},
                              headers={"X-CSRF-Token": token})  # fmt: skip
        assert allowed.status_code == 422  # past the guard: there is no claim C1
        assert "no claim" in allowed.text
        # Another browser with a stolen token but no session gets nothing.
        with httpx.Client() as other:
            stolen = other.post(action, data={"outcome": "withdrawn"},
                                headers={"X-CSRF-Token": token})  # fmt: skip
            assert stolen.status_code == 401


@pytest.mark.browser
def test_logging_in_in_the_browser(page: Page, tmp_path: Path) -> None:
    env = clean_env(RECOUP_WEB_PASSWORD="s3cret enough")
    with serving(tmp_path / "ws", tmp_path, env=env, host="0.0.0.0") as base:
        page.goto(base + "/claims")
        expect(page).to_have_url(re.compile("/login"))
        page.fill("input[name=password]", "wrong")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("not right")
        page.fill("input[name=password]", "s3cret enough")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(base + "/claims")
        expect(page.locator("h1")).to_have_text("Claims")
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile("/login"))
        page.goto(base + "/nowhere")
        expect(page).to_have_url(re.compile("/login"))


def test_loopback_bind_checks_csrf_and_the_host_name(tmp_path: Path) -> None:
    with serving(tmp_path / "ws", tmp_path) as base, httpx.Client() as client:
        assert client.get(base + "/").status_code == 200
        # A page served under another name (DNS rebinding) is refused.
        assert client.get(base + "/", headers={"Host": "evil.example"}).status_code == 400
        action = base + "/audit"
        assert client.post(action, data={"as_of": str(TODAY)}).status_code == 403
        token = token_of(client, base)
        assert client.post(action, data={"as_of": "2999-01-01"},
                           headers={"X-CSRF-Token": token}).status_code == 422  # fmt: skip
        # Settings' cost upload imports costs, and says when a file is something else.
        other = REPORTS / "reimbursements" / "us_cp1252.tsv"
        uploads = [("files", ("costs.csv", b"sku,unit_cost\nMUG-1,4.20\n", "text/csv")),
                   ("files", ("not-costs.txt", b"a\tb\n1\t2\n", "text/plain")),
                   ("files", ("reimbursements.txt", other.read_bytes(), "text/plain"))]  # fmt: skip
        form = {"expect": "sourcing_costs", "account": "shop", "marketplace": "US"}
        job = client.post(base + "/imports", headers={"X-CSRF-Token": token}, data=form,
                          files=uploads)  # fmt: skip
        assert job.status_code == 200
        panel = re.search(r'hx-get="(/jobs/\w+)"', job.text)
        assert panel
        for _ in range(600):
            done = client.get(base + panel[1])
            if 'data-state="running"' not in done.text:
                break
            time.sleep(0.1)
        assert 'data-state="done"' in done.text
        assert "2 imported, 0 already imported, 1 failed" in done.text
        assert "not-costs.txt: not a report recoup knows" in done.text
        assert "read as FBA Reimbursements, not as Sourcing costs (your file)" in done.text
        client.cookies.set("recoup_account", "shop")
        page = client.get(base + "/settings").text
        assert "1 cost row(s) for 1 SKU(s) in shop" in page
        assert "MUG-1" in page
        missing = client.get(base + "/claims/C404")
        assert missing.status_code == 404
        assert "no claim" in missing.text
        assert "<html" in missing.text


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [("/claims", "/claims"), ("/findings?kind=x&page=2", "/findings?kind=x&page=2"),
     ("//evil.example", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"),
     ("/claims\r\nSet-Cookie: x=1", "/"), ("", "/")],
)  # fmt: skip
def test_after_login_the_dashboard_goes_back_only_to_its_own_pages(
    asked: str, goes_to: str
) -> None:
    assert next_page(asked) == goes_to


def test_settings_mark_the_windows_a_seller_overrode() -> None:
    override = {"kind": "inbound_shortage", "group": "US", "effective_from": "2024-10-23",
                "opens_after": "0d", "closes_after": "9m"}  # fmt: skip
    added = {**override, "group": "DE", "effective_from": "2026-01-01"}
    rows, problem = windows([override, added])
    assert problem == ""
    marked = [(r["kind"], r["group"], str(r["effective_from"])) for r in rows if r["override"]]
    assert marked == [
        ("inbound_shortage", "DE", "2026-01-01"),
        ("inbound_shortage", "US", "2024-10-23"),
    ]
    assert len(rows) > 20
    _rows, problem = windows([{**override, "closes_after": "soon"}])
    assert "not a span" in problem


# -- a workspace another process is writing ------------------------------------------------------


@pytest.mark.slow
def test_a_busy_workspace_shows_a_busy_page_and_the_server_keeps_no_lock(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with serving(root, tmp_path) as base, httpx.Client(timeout=30) as client:
        assert client.get(base + "/findings").status_code == 200
        # The CLI can use the workspace while the dashboard runs (it holds no connection).
        status = subprocess.run(
            [sys.executable, "-m", "recoup", "--workspace", str(root), "status"],
            cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert status.returncode == 0, status.stderr
        writer = duckdb.connect(str(root / DB_NAME))  # as `recoup import` would hold it
        try:
            busy = client.get(base + "/findings")
            assert busy.status_code == 503
            assert "The workspace is busy" in busy.text
            assert busy.headers["retry-after"] == "3"
            part = client.get(base + "/claims", headers={"HX-Request": "true"})
            assert part.status_code == 503
            assert part.text.strip().startswith('<div class="notice busy"')
        finally:
            writer.close()
        assert client.get(base + "/findings").status_code == 200
        # A command started while another process holds the workspace waits for it.
        writer = duckdb.connect(str(root / DB_NAME))
        waiting = subprocess.Popen(
            [sys.executable, "-m", "recoup", "--workspace", str(root), "status"],
            cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        time.sleep(1.5)
        writer.close()
        _out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, err
