"""`recoup sync` never shows a secret, whatever Amazon's servers answer (issue 20).

A server that echoes the request back in its error (a misconfigured Login with Amazon endpoint,
a proxy, an SP-API gateway) hands recoup the client secret, the refresh token or the access
token. recoup runs as a seller runs it (a subprocess, a 400-column terminal so nothing wraps),
against the fake SP-API on loopback, with secrets that URL-encoding changes (`+`, `/`, `=`, `|`).
Every secret, raw and URL-encoded, must be absent from stdout, stderr, every table of the
workspace (the sync's stored state and notes the dashboard shows) and every file written.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from recoup.sources import credentials as creds
from recoup.web import syncing
from recoup.workspace import Workspace
from tests.cli_process import Ran, recoup
from tests.fake_spapi import Fake, FakeServer, Served, environment

pytest.importorskip("sp_api", reason="recoup[spapi] is not installed")

CLIENT_ID = "amzn1.application-oa2-client.9f+c1/e7=d2"
CLIENT_SECRET = "amzn1.oa2-cs.v1.Qx+7/kZ==s3cr3t"
REFRESH_TOKEN = "Atzr|IwEBI+rEfR/sH=tOkEn|42"
ACCESS_TOKEN = "Atza|IwEBI+aCcE/sS=tOkEn|17"
SECRETS = (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN)
WINDOW = 12  # a leaked piece this long is a leak: a message cut short must not keep half a secret
FEE_PREVIEW = "GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA"
SINCE = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)


def forms(secret: str) -> set[str]:
    """The secret as it can appear in a server's text: raw and URL-encoded (form body or query,
    with upper- or lower-case escapes)."""
    encoded = {quote(secret), quote(secret, safe=""), quote_plus(secret),
               quote_plus(secret, safe="/")}  # fmt: skip
    lower = {re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), e) for e in encoded}
    return {secret} | encoded | lower


def leaks(text: str) -> list[str]:
    """Every piece of a secret (in any of its forms) found in `text`."""
    pieces = {form[i : i + WINDOW] for secret in SECRETS for form in forms(secret)
              for i in range(len(form) - WINDOW + 1)}  # fmt: skip
    return sorted(piece for piece in pieces if piece in text)


def fake() -> Fake:
    """A fake that accepts the secrets above and grants the access token above."""
    return Fake(
        reports={(FEE_PREVIEW, "US"): Served(b"")},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        access_token=ACCESS_TOKEN,
    )


def run_sync(tmp_path: Path, served: Fake) -> tuple[Ran, Path]:
    (tmp_path / "recoup.toml").write_text("[sync]\npoll_seconds = 0.01\n")
    root = tmp_path / "ws"
    with FakeServer(served) as url:
        env = {
            **environment(url),
            "RECOUP_LWA_CLIENT_ID": CLIENT_ID,
            "RECOUP_LWA_CLIENT_SECRET": CLIENT_SECRET,
            "RECOUP_SPAPI_REFRESH_TOKEN": REFRESH_TOKEN,
            "COLUMNS": "400",
        }
        ran = recoup("sync", "--since", str(SINCE), "--report", "fee_preview", workspace=root,
                     cwd=tmp_path, env=env)  # fmt: skip
    return ran, root


def stored(root: Path) -> str:
    """Every row of every table of the workspace, as text (sync_state, sync_jobs' notes, ...)."""
    with Workspace(root) as workspace:
        tables = workspace.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        dumped = [(name, workspace.con.execute(f'SELECT * FROM "{name}"').fetchall())
                  for (name,) in tables]  # fmt: skip
    return "\n".join(f"{name}: {rows}" for name, rows in dumped)


def written(tmp_path: Path) -> str:
    """Every file the sync left (the database, its WAL, any log), read as text."""
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace")
        for path in sorted(tmp_path.rglob("*"))
        if path.is_file()
    )


def assert_nothing_leaked(ran: Ran, root: Path, tmp_path: Path) -> None:
    assert leaks(ran.out) == [], ran.out
    assert leaks(ran.err) == [], ran.err
    assert leaks(stored(root)) == []
    assert leaks(written(tmp_path)) == []


def test_the_fake_echoes_what_the_test_guards() -> None:
    """The leak detector finds each secret in every form the fake's echo can carry."""
    for secret in SECRETS:
        for form in forms(secret):
            assert leaks(f"... {form} ...")
    assert quote_plus(CLIENT_SECRET) != CLIENT_SECRET  # URL-encoding changes every one
    assert all(quote(s, safe="") != s for s in SECRETS)


@pytest.mark.parametrize(
    ("status", "form"), [(400, "json"), (401, "json"), (400, "text"), (401, "text")]
)
def test_login_with_amazon_echoing_the_request_shows_no_secret(
    tmp_path: Path, status: int, form: str
) -> None:
    """The token endpoint refuses with the whole form (client id, secret, refresh token) in its
    answer, as JSON (`error_description`) or as plain text: one clear line, no secret."""
    served = fake()
    served.echo = {"token": (status, form)}
    ran, root = run_sync(tmp_path, served)
    assert_nothing_leaked(ran, root, tmp_path)
    assert ran.code == 1, ran.text
    assert "Login with Amazon refused the credentials" in ran.out
    assert f"HTTP {status}" in ran.out
    assert "***" in ran.out  # the echo is shown, masked


@pytest.mark.parametrize(
    ("operation", "status", "says"),
    [
        ("createReport", 400, "createReport: HTTP 400: InvalidInput: POST"),
        ("createReport", 403, "createReport: Amazon denied access (InvalidInput: POST"),
        ("getReport", 400, "getReport: HTTP 400: InvalidInput: GET"),
    ],
)
def test_an_operation_echoing_the_access_token_shows_no_secret(
    tmp_path: Path, operation: str, status: int, says: str
) -> None:
    """An SP-API error whose message quotes the request, `x-amz-access-token` header and all
    (shown masked, cut to 300 characters: the GET's long query pushes the header past the cut)."""
    served = fake()
    served.echo = {operation: (status, "json")}
    ran, root = run_sync(tmp_path, served)
    assert_nothing_leaked(ran, root, tmp_path)
    assert ran.code == 1, ran.text
    assert says in ran.out
    assert operation == "getReport" or "x-amz-access-token: ***" in ran.out


def test_a_fatal_reports_error_document_echoing_the_request_is_stored_masked(
    tmp_path: Path,
) -> None:
    """The error document is kept as the window's note (sync_jobs) and shown on the dashboard's
    sync page: masked before it is cut short, stored or shown."""
    served = fake()
    served.reports[(FEE_PREVIEW, "US")] = Served(end="FATAL")
    served.echo = {"errorDocument": (200, "text")}
    ran, root = run_sync(tmp_path, served)
    assert_nothing_leaked(ran, root, tmp_path)
    assert ran.code == 1, ran.text
    assert "FATAL" in ran.out
    assert "Report creation failed" in ran.out
    with Workspace(root) as workspace:
        (note,) = workspace.con.execute("SELECT note FROM sync_jobs").fetchone() or ("",)
        shown = syncing.last_sync(workspace.con, "default", dt.timedelta(hours=1))
    assert "Report creation failed" in note
    assert shown is not None
    assert "Report creation failed" in shown.failure
    assert leaks(shown.failure) == []


def test_one_mask_for_every_form_of_every_secret() -> None:
    """The masking function the sync, the CLI and the dashboard share."""
    loaded = creds.load(env={"RECOUP_LWA_CLIENT_ID": CLIENT_ID,
                             "RECOUP_LWA_CLIENT_SECRET": CLIENT_SECRET,
                             "RECOUP_SPAPI_REFRESH_TOKEN": REFRESH_TOKEN})  # fmt: skip
    secrets = [*creds.secrets_of(loaded), ACCESS_TOKEN]
    text = " ".join(form for secret in SECRETS for form in sorted(forms(secret)))
    masked = creds.mask(text, secrets)
    assert leaks(masked) == []
    assert set(masked.split()) == {"***"}
    assert leaks(syncing.scrub(text, [*syncing.secrets_of(loaded), ACCESS_TOKEN])) == []
    assert creds.mask("HTTP 400: short", ["short"]) == "HTTP 400: short"  # too short to mask
