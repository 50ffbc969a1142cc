"""A fake Selling Partner API on loopback, for `recoup sync` tests: real HTTP, real client.

It serves the Login with Amazon token exchange, createReport / getReport / getReportDocument,
the report documents themselves (gzip, in the charset the test gives), settlement report
listing and the Fulfillment Inbound v0 shipments and items, all paginated where Amazon
paginates. Behaviours a test can ask for: a 429 on the first createReport, reports that end
CANCELLED or FATAL, a report held IN_PROGRESS until released, a document URL that has
expired the first time it is used, injected error answers per operation (`faults`), error
answers that echo the whole request back, secrets and all (`echo`), a stated rate on every
answer, and a whole account's report served window by window (`date_column`). Every request is
recorded.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

TOKEN = "Atza|fake-access-token"
CLIENT_ID = "amzn1.application-oa2-client.fake"
CLIENT_SECRET = "fake-client-secret-do-not-print"
REFRESH_TOKEN = "Atzr|fake-refresh-token-do-not-print"


@dataclass
class Served:
    """What one report type returns: a document, or an end state without one."""

    data: bytes = b""
    charset: str = "UTF-8"
    end: str = "DONE"  # DONE, CANCELLED or FATAL
    hold: bool = False  # stays IN_PROGRESS until `release()`
    expire_first: bool = False  # the first download URL has expired
    # Serve only the rows whose date in this column lies in the requested window (a whole
    # account's report, cut the way Amazon cuts it per request).
    date_column: str | None = None

    def window(self, body: dict[str, Any]) -> Served:
        if self.date_column is None or "dataStartTime" not in body:
            return self
        first = dt.date.fromisoformat(body["dataStartTime"][:10])
        last = dt.date.fromisoformat(body["dataEndTime"][:10])
        lines = self.data.decode(self.charset).splitlines(keepends=True)
        at = lines[0].rstrip("\r\n").split("\t").index(self.date_column)
        kept = [line for line in lines[1:] if first <= _day(line.split("\t")[at]) <= last]
        return Served("".join([lines[0], *kept]).encode(self.charset), self.charset)


def _day(text: str) -> dt.date:
    """A report's date: ISO (`2025-10-26T10:15:00+00:00`) or US (`10/08/2025`)."""
    if "/" in text[:10]:
        month, day, year = text[:10].split("/")
        return dt.date(int(year), int(month), int(day))
    return dt.date.fromisoformat(text[:10])


@dataclass
class Fake:
    reports: dict[tuple[str, str], Served] = field(default_factory=dict)  # (type, market)
    settlements: list[list[dict[str, Any]]] = field(default_factory=list)  # pages of listings
    shipments: list[list[dict[str, Any]]] = field(default_factory=list)  # pages
    items: list[list[dict[str, Any]]] = field(default_factory=list)  # pages
    throttle_first_create: bool = False
    # Injected faults: operation -> the answers (HTTP status, JSON body) its next calls get.
    faults: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    # Error answers that echo the whole request (request line, headers, body), as a misconfigured
    # server or proxy does: "token" (Login with Amazon), an operation, or "errorDocument" (a FATAL
    # report's error document quotes its createReport request) -> (HTTP status, "json" or "text").
    echo: dict[str, tuple[int, str]] = field(default_factory=dict)
    # The credentials it accepts and the access token it grants (a test may choose secrets that
    # URL-encoding changes).
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    refresh_token: str = REFRESH_TOKEN
    access_token: str = TOKEN
    stated_rate: str | None = None  # x-amzn-RateLimit-Limit on every answer that succeeds
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # report id -> request
    documents: dict[str, Served] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)  # report id -> its request, echoed
    downloads: Counter[str] = field(default_factory=Counter)
    released: threading.Event = field(default_factory=threading.Event)
    polled: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def release(self) -> None:
        self.released.set()

    def count(self, operation: str) -> int:
        return sum(1 for op, _path, _body in self.calls if op == operation)

    def created_for(self, report_type: str) -> list[dict[str, Any]]:
        return [
            body
            for op, _p, body in self.calls
            if op == "createReport" and body.get("reportType") == report_type
        ]


class Handler(BaseHTTPRequestHandler):
    fake: Fake

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        ctype = "application/json" if not isinstance(body, bytes) else "application/octet-stream"
        for key, value in {"Content-Type": ctype, **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, **headers: str) -> None:
        self._send(status, {"errors": [{"code": code, "message": message}]}, headers)

    def _record(self, operation: str, body: dict[str, Any]) -> None:
        with self.fake.lock:
            self.fake.calls.append((operation, self.path, body))

    def _faulted(self, operation: str) -> bool:
        """Answer with the next injected fault of this operation, if there is one."""
        with self.fake.lock:
            queue = self.fake.faults.get(operation) or []
            fault = queue.pop(0) if queue else None
        if fault is None:
            return False
        status, body = fault
        self._send(status, body)
        return True

    def _echo(self, raw: bytes) -> str:
        """The whole request as text: request line, headers, body, and the headers and form
        fields once more form-encoded (how a gateway logging the parameters shows them)."""
        headers = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
        encoded = "&".join(f"{k}={quote_plus(v)}" for k, v in self.headers.items())
        form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
        return (
            f"{self.command} {self.path} HTTP/1.1\n{headers}\n{raw.decode(errors='replace')}\n"
            f"parameters: {json.dumps(form)}\nheaders: {encoded}"
        )

    def _echoed(self, operation: str, raw: bytes = b"") -> bool:
        """Answer with an error echoing the request, if the test asked for one."""
        found = self.fake.echo.get(operation)
        if found is None:
            return False
        status, form = found
        text = self._echo(raw)
        if form == "text":
            self._send(status, text.encode())
        elif operation == "token":
            self._send(status, {"error": "invalid_request", "error_description": text})
        else:
            self._error(status, "InvalidInput", text)
        return True

    def _ok(self, status: int, body: Any) -> None:
        rate = self.fake.stated_rate
        self._send(status, body, {"x-amzn-RateLimit-Limit": rate} if rate else None)

    def _authorised(self) -> bool:
        if self.headers.get("x-amz-access-token") != self.fake.access_token:
            self._error(403, "Unauthorized", "Access to requested resource is denied.")
            return False
        return True

    # -- routes -------------------------------------------------------------------------------

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urlsplit(self.path).path
        if path == "/auth/o2/token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            self._record("token", {"grant_type": form.get("grant_type")})
            if self._echoed("token", raw):
                return
            fake = self.fake
            if (form.get("client_id"), form.get("client_secret"), form.get("refresh_token")) != (
                fake.client_id,
                fake.client_secret,
                fake.refresh_token,
            ):
                self._send(401, {"error": "invalid_client", "error_description": "bad client"})
                return
            self._send(
                200,
                {
                    "access_token": fake.access_token,
                    "token_type": "bearer",
                    "expires_in": 3600,
                    "refresh_token": fake.refresh_token,
                },
            )
            return
        if path == "/reports/2021-06-30/reports" and self._authorised():
            body = json.loads(raw or b"{}")
            self._record("createReport", body)
            if self._echoed("createReport", raw) or self._faulted("createReport"):
                return
            fake = self.fake
            with fake.lock:
                if fake.throttle_first_create:
                    fake.throttle_first_create = False
                    self._error(
                        429,
                        "QuotaExceeded",
                        "You exceeded your quota for the requested resource.",
                        **{"x-amzn-RateLimit-Limit": "20.0"},
                    )
                    return
                report_id = f"R{len(fake.created) + 1:04d}"
                fake.created[report_id] = body
                fake.requests[report_id] = self._echo(raw)
            self._ok(202, {"reportId": report_id})
            return
        self._error(404, "NotFound", f"no route {path}")

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        path = split.path
        if path.startswith("/download/"):
            self._download(path.rsplit("/", 1)[1], query)
            return
        if not self._authorised():
            return
        if match := re.fullmatch(r"/reports/2021-06-30/reports/(\w+)", path):
            self._get_report(match[1])
        elif match := re.fullmatch(r"/reports/2021-06-30/documents/(\w+)", path):
            self._record("getReportDocument", {"id": match[1]})
            if self._faulted("getReportDocument"):
                return
            self._ok(
                200,
                {
                    "reportDocumentId": match[1],
                    "compressionAlgorithm": "GZIP",
                    "url": f"http://127.0.0.1:{self.fake.port}/download/{match[1]}"
                    f"?n={self.fake.count('getReportDocument')}",
                },
            )
        elif path == "/reports/2021-06-30/reports":
            self._record("getReports", query)
            if self._faulted("getReports"):
                return
            page = int(query.get("nextToken", "0"))
            pages = self.fake.settlements or [[]]
            more = {"nextToken": str(page + 1)} if page + 1 < len(pages) else {}
            self._ok(200, {"reports": pages[page], **more})
        elif path in ("/fba/inbound/v0/shipments", "/fba/inbound/v0/shipmentItems"):
            shipments = path.endswith("shipments")
            operation = "getShipments" if shipments else "getShipmentItems"
            self._record(operation, query)
            if self._faulted(operation):
                return
            pages = (self.fake.shipments if shipments else self.fake.items) or [[]]
            page = int(query["NextToken"]) if query.get("QueryType") == "NEXT_TOKEN" else 0
            key = "ShipmentData" if shipments else "ItemData"
            more = {"NextToken": str(page + 1)} if page + 1 < len(pages) else {}
            self._ok(200, {"payload": {key: pages[page], **more}})
        else:
            self._error(404, "NotFound", f"no route {path}")

    def _get_report(self, report_id: str) -> None:
        fake = self.fake
        self._record("getReport", {"id": report_id})
        if self._echoed("getReport") or self._faulted("getReport"):
            return
        body = fake.created.get(report_id)
        if body is None:
            self._error(404, "NotFound", f"no report {report_id}")
            return
        served = fake.reports.get((body["reportType"], _market(body)), Served(end="CANCELLED"))
        polls = sum(1 for op, _p, b in fake.calls if op == "getReport" and b["id"] == report_id)
        fake.polled.set()
        state = (
            "IN_PROGRESS"
            if polls == 1 or (served.hold and not fake.released.is_set())
            else served.end
        )
        out: dict[str, Any] = {
            "reportId": report_id,
            "reportType": body["reportType"],
            "processingStatus": state,
        }
        if state in ("DONE", "FATAL"):
            document_id = f"D{report_id}"
            failure = "Report creation failed: invalid range"
            if "errorDocument" in fake.echo:
                failure += f" in this request: {fake.requests[report_id]}"
            fake.documents[document_id] = (
                served.window(body) if state == "DONE" else Served(failure.encode())
            )
            out["reportDocumentId"] = document_id
        self._ok(200, out)

    def _download(self, document_id: str, query: dict[str, str]) -> None:
        served = self.fake.documents.get(document_id)
        if served is None:
            self._send(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return
        with self.fake.lock:
            self.fake.downloads[document_id] += 1
            first = self.fake.downloads[document_id] == 1
        if served.expire_first and first:
            self._send(
                403,
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            )
            return
        self._send(
            200,
            gzip.compress(served.data),
            {"Content-Type": f"text/plain;charset={served.charset}"},
        )


def environment(url: str, markets: str = "US") -> dict[str, str]:
    """The variables `recoup sync` reads, pointing at a fake served at `url`."""
    return {
        "RECOUP_LWA_CLIENT_ID": CLIENT_ID,
        "RECOUP_LWA_CLIENT_SECRET": CLIENT_SECRET,
        "RECOUP_SPAPI_REFRESH_TOKEN": REFRESH_TOKEN,
        "RECOUP_SPAPI_ENDPOINT": url,
        "RECOUP_LWA_TOKEN_URL": f"{url}/auth/o2/token",
        "RECOUP_SPAPI_MARKETPLACES": markets,
    }


MARKET_IDS = {"ATVPDKIKX0DER": "US", "A1VC38T7YXB528": "JP", "A1PA6795UKMFR9": "DE"}


def _market(body: dict[str, Any]) -> str:
    ids = body.get("marketplaceIds") or []
    return MARKET_IDS.get(ids[0] if ids else "", "US")


class FakeServer:
    """`with FakeServer(fake) as url:` serves `fake` on a free loopback port."""

    def __init__(self, fake: Fake) -> None:
        handler = type("BoundHandler", (Handler,), {"fake": fake})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        fake.port = self.server.server_address[1]
        self.fake = fake
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.fake.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
