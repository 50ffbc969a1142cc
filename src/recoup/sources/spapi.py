"""The Selling Partner API as a `ReportSource`, through python-amazon-sp-api.

The library does the authentication (LWA), the endpoints and the request format. recoup adds:
- its own endpoint and LWA token URL (configuration, so a sandbox or a test server works);
- pacing under each operation's published rate and burst, and on a 429 a wait taken from the
  response (`Retry-After`, else `x-amzn-RateLimit-Limit`), growing on each retry;
- the report document downloaded as raw bytes by recoup itself: gzip undone, the charset taken
  from the response, nothing decoded here (the import decodes strictly, never with replacement
  characters; the library's own download falls back to iso-8859-1 with `errors="replace"`);
- a fresh document URL when the one in hand has expired;
- every text a server sends back masked (`credentials.mask`: the client id and secret, the
  refresh token and every access token, raw and URL-encoded) before it becomes a message, and
  cut to a readable length: a token endpoint or a proxy can echo the whole request (issue 20).
"""

from __future__ import annotations

import datetime as dt
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

from recoup.sources.credentials import Credentials, mask, secrets_of

# Published rate (requests per second) and burst of each operation.
LIMITS = {
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "getReports": (0.0222, 10),
    "getShipments": (2.0, 30),
    "getShipmentItems": (2.0, 30),
}
TRIES = 8
LONGEST_WAIT = 120.0
SERVER_ERROR = 500
LONGEST_SAID = 300  # characters of a server's text shown in a message
INBOUND_STATUSES = (
    "WORKING",
    "READY_TO_SHIP",
    "SHIPPED",
    "IN_TRANSIT",
    "DELIVERED",
    "CHECKED_IN",
    "RECEIVING",
    "CLOSED",
    "CANCELLED",
    "DELETED",
    "ERROR",
)
LIBRARY_NAMES = {"UK": "GB"}  # recoup's marketplace code -> the library's


class SourceError(RuntimeError):
    """A request the source could not complete (says which, and Amazon's message)."""


class LoginRefused(SourceError):
    """Login with Amazon refused the credentials: no other request can succeed either."""


@dataclass(frozen=True)
class Status:
    state: str  # IN_QUEUE, IN_PROGRESS, DONE, CANCELLED, FATAL
    document_id: str | None


@dataclass(frozen=True)
class Document:
    data: bytes  # as Amazon encoded it, gzip undone
    charset: str | None  # from the download's Content-Type
    compressed: bool


@dataclass(frozen=True)
class Listed:
    report_id: str
    document_id: str | None
    created: str
    state: str


class ReportSource(Protocol):
    def create_report(
        self, report_type: str, marketplace: str, start: dt.datetime | None, end: dt.datetime | None
    ) -> str: ...
    def report_status(self, report_id: str, marketplace: str) -> Status: ...
    def download(self, document_id: str, marketplace: str) -> Document: ...
    def settlement_reports(
        self, report_type: str, marketplace: str, since: dt.datetime
    ) -> list[Listed]: ...
    def inbound(
        self, what: str, marketplace: str, after: dt.datetime, before: dt.datetime
    ) -> list[dict[str, Any]]: ...


@dataclass
class Bucket:
    """Pacing under a rate and burst (a token bucket, starting full)."""

    rate: float
    burst: int
    tokens: float = -1.0
    clock: Callable[[], float] = time.monotonic  # a test's clock runs without waiting
    at: float | None = None

    def take(self, sleep: Callable[[float], None]) -> None:
        now = self.clock()
        if self.tokens < 0 or self.at is None:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            sleep((1 - self.tokens) / self.rate)
            self.tokens, self.at = 1.0, self.clock()
        self.tokens -= 1


def _header(headers: Any, name: str) -> str | None:
    """A header, whatever case the server or the library gave it in."""
    if not headers:
        return None
    found = headers.get(name) or headers.get(name.lower())
    if found is None and hasattr(headers, "items"):
        found = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
    return None if found is None else str(found)


def _backoff(attempt: int) -> float:
    """The wait before retrying a server error or a timeout."""
    return float(min(LONGEST_WAIT, 2.0 * 2**attempt))


def _message(error: Any) -> str:
    """Amazon's error text (the `errors` list of the answer)."""
    found = getattr(error, "error", None)
    if isinstance(found, list):
        texts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ")
                 for e in found if isinstance(e, dict)]  # fmt: skip
        if texts:
            return "; ".join(texts)
    return str(getattr(error, "message", "") or found or error)


def _wait_after_429(headers: Any, attempt: int) -> float:
    headers = headers or {}
    retry_after = headers.get("Retry-After") or headers.get("retry-after")
    if retry_after:
        try:
            return min(LONGEST_WAIT, float(retry_after))
        except ValueError:
            pass
    rate = headers.get("x-amzn-RateLimit-Limit") or headers.get("x-amzn-ratelimit-limit")
    try:
        base = 1.0 / float(rate) if rate else 1.0
    except (ValueError, ZeroDivisionError):
        base = 1.0
    return float(min(LONGEST_WAIT, base * 2**attempt))


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SpApiSource:
    """The real API (or anything that speaks it at the configured endpoint)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:  # the optional extra `recoup[spapi]`
            import httpx  # noqa: PLC0415
            from sp_api.auth import AccessTokenClient  # noqa: PLC0415
            from sp_api.base import Marketplaces  # noqa: PLC0415
        except ImportError:
            raise SourceError(
                "recoup sync needs python-amazon-sp-api: pip install 'recoup[spapi]'"
            ) from None
        self.credentials = credentials
        self.access_tokens: set[str] = set()  # every one granted: masked like the secrets
        self.sleep = sleep
        self.on_wait = on_wait
        self.buckets = {
            op: Bucket(rate, burst, clock=clock) for op, (rate, burst) in LIMITS.items()
        }
        self.marketplaces = Marketplaces
        token = urlsplit(credentials.token_url)
        # The library builds the token URL from these class attributes.
        self.token_client = type(
            "RecoupTokenClient",
            (AccessTokenClient,),
            {
                "scheme": f"{token.scheme}://",
                "host": token.netloc,
                "path": token.path or "/",
                "_request": lambda client, url, data, headers: _exchange(
                    self, client, url, data, headers
                ),
            },
        )
        self.httpx = httpx
        self.http = httpx.Client(timeout=120.0, follow_redirects=True)
        self.clients: dict[tuple[str, str], Any] = {}

    def mask(self, text: str) -> str:
        """`text` with every secret and access token masked (`credentials.mask`)."""
        from sp_api.auth import access_token_client  # noqa: PLC0415

        # Another source in this process may have put the token in the library's shared cache.
        cached = (a.get("access_token") for a in access_token_client.cache.values()
                  if isinstance(a, dict))  # fmt: skip
        tokens = self.access_tokens | {str(t) for t in cached if t}
        return mask(text, [*secrets_of(self.credentials), *tokens])

    def said(self, text: object) -> str:
        """A server's text as a message may show it: masked, on one line, cut short (masked
        first: a secret cut in half would no longer be found)."""
        one_line = " ".join(self.mask(str(text)).split())
        return one_line if len(one_line) <= LONGEST_SAID else one_line[:LONGEST_SAID] + " …"

    def _field(self, payload: Any, name: str, operation: str) -> Any:
        """A field Amazon's answer must carry; a clear SourceError when it does not."""
        value = payload.get(name) if isinstance(payload, dict) else None
        if value is None:
            shown = self.said(payload)
            raise SourceError(f"{operation}: Amazon's answer has no {name} ({shown})")
        return value

    def close(self) -> None:
        self.http.close()
        for client in self.clients.values():
            client.close()

    def _client(self, api: str, marketplace: str) -> Any:
        key = (api, marketplace)
        if key not in self.clients:
            if api == "reports":
                from sp_api.api import Reports as base  # noqa: PLC0415
            else:
                from sp_api.api.fulfillment_inbound.fulfillment_inbound_v0 import (  # noqa: PLC0415
                    FulfillmentInboundV0 as base,
                )
            client = _at_endpoint(base)(
                marketplace=self.marketplaces[LIBRARY_NAMES.get(marketplace, marketplace)],
                refresh_token=self.credentials.refresh_token,
                credentials={
                    "refresh_token": self.credentials.refresh_token,
                    "lwa_app_id": self.credentials.client_id,
                    "lwa_client_secret": self.credentials.client_secret,
                },
                auth_token_client_class=self.token_client,
            )
            client.endpoint = self.credentials.endpoint
            self.clients[key] = client
        return self.clients[key]

    def _marketplace_id(self, marketplace: str) -> str:
        market = self.marketplaces[LIBRARY_NAMES.get(marketplace, marketplace)]
        return str(market.marketplace_id)

    def _call(self, operation: str, call: Callable[[], Any]) -> Any:
        """One API call, paced at the rate Amazon last stated for the operation; its
        ApiResponse. A 429 waits as the response says; a 5xx or a timeout is retried with a
        growing wait; a 403 gets a fresh access token once (an expired or revoked one). Any
        other failure is a SourceError naming the operation and Amazon's message."""
        from sp_api.auth import access_token_client  # noqa: PLC0415
        from sp_api.auth.exceptions import AuthorizationError  # noqa: PLC0415
        from sp_api.base.exceptions import (  # noqa: PLC0415
            SellingApiException,
            SellingApiForbiddenException,
            SellingApiRequestThrottledException,
        )

        refreshed = False
        problem = "no answer"
        for attempt in range(TRIES):
            self.buckets[operation].take(self.sleep)
            try:
                response = call()
            except SellingApiRequestThrottledException as error:
                self._stated(operation, error.headers)
                wait = _wait_after_429(error.headers, attempt)
                problem = "still throttled"
            except AuthorizationError as error:
                parts = [f"HTTP {error.status_code}", error.error_code, error.message]
                raise LoginRefused(
                    "Login with Amazon refused the credentials "
                    f"({self.said(': '.join(str(p) for p in parts if p))})"
                ) from None
            except SellingApiForbiddenException as error:
                if refreshed:
                    raise SourceError(
                        f"{operation}: Amazon denied access ({self.said(_message(error))}): the "
                        "authorisation may have been revoked; authorise recoup again in Seller "
                        "Central and update the refresh token"
                    ) from None
                access_token_client.cache.clear()  # the next call fetches a new access token
                refreshed, wait = True, 0.0
            except SellingApiException as error:
                if error.code < SERVER_ERROR:
                    raise SourceError(
                        f"{operation}: HTTP {error.code}: {self.said(_message(error))}"
                    ) from None
                wait = _backoff(attempt)
                problem = f"HTTP {error.code}: {self.said(_message(error))}"
            except (self.httpx.TimeoutException, self.httpx.TransportError) as error:
                wait, problem = _backoff(attempt), f"{error.__class__.__name__}: {self.said(error)}"
            except self.httpx.HTTPError as error:
                raise SourceError(
                    f"{operation}: {error.__class__.__name__}: {self.said(error)}"
                ) from None
            else:
                self._stated(operation, getattr(response, "headers", None))
                return response
            if self.on_wait and wait:
                self.on_wait(operation, wait)
            self.sleep(wait)
        raise SourceError(f"{operation}: {problem} after {TRIES} tries")

    def rate(self, operation: str) -> float:
        """Requests a second this operation is paced at now."""
        return self.buckets[operation].rate

    def _stated(self, operation: str, headers: Any) -> None:
        """Pace the operation at the rate Amazon states for this seller and app (it differs by
        seller and changes; the published rate is only the default)."""
        stated = _header(headers, "x-amzn-RateLimit-Limit")
        try:
            rate = float(stated) if stated else 0.0
        except ValueError:
            return
        if rate > 0:
            self.buckets[operation].rate = rate

    # -- reports -----------------------------------------------------------------------------

    def create_report(
        self, report_type: str, marketplace: str, start: dt.datetime | None, end: dt.datetime | None
    ) -> str:
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": [self._marketplace_id(marketplace)],
        }
        if start is not None and end is not None:
            body |= {"dataStartTime": _iso(start), "dataEndTime": _iso(end)}
        client = self._client("reports", marketplace)
        payload = self._call("createReport", lambda: client.create_report(**body)).payload
        return str(self._field(payload, "reportId", "createReport"))

    def report_status(self, report_id: str, marketplace: str) -> Status:
        client = self._client("reports", marketplace)
        payload = self._call("getReport", lambda: client.get_report(report_id)).payload
        state = self._field(payload, "processingStatus", "getReport")
        return Status(str(state), payload.get("reportDocumentId"))

    def download(self, document_id: str, marketplace: str) -> Document:
        """The document's bytes; a URL that has expired is asked for again (twice at most)."""
        client = self._client("reports", marketplace)
        for _attempt in range(3):
            info = self._call(
                "getReportDocument", lambda: client.get_report_document(document_id, download=False)
            ).payload
            url = self._field(info, "url", "getReportDocument")
            try:
                response = self.http.get(str(url))
            except self.httpx.HTTPError as error:
                raise SourceError(f"document {document_id}: {self.said(error)}") from None
            if response.status_code in (400, 403) and b"xpired" in response.content:
                continue  # presigned URLs last minutes: get a fresh one
            if response.status_code != 200:
                raise SourceError(f"document {document_id}: HTTP {response.status_code}")
            compressed = str(info.get("compressionAlgorithm") or "").upper() == "GZIP"
            data = response.content
            if compressed:
                try:
                    data = gzip.decompress(data)
                except (OSError, EOFError) as error:
                    raise SourceError(f"document {document_id}: bad gzip ({error})") from None
            return Document(data, response.charset_encoding, compressed)
        raise SourceError(f"document {document_id}: its download URL keeps expiring")

    def settlement_reports(
        self, report_type: str, marketplace: str, since: dt.datetime
    ) -> list[Listed]:
        client = self._client("reports", marketplace)
        found: list[Listed] = []
        query: dict[str, Any] = {
            "reportTypes": report_type,
            "processingStatuses": "DONE",
            "createdSince": _iso(since),
            "pageSize": 100,
            "marketplaceIds": self._marketplace_id(marketplace),
        }
        while True:
            response = self._call("getReports", partial(client.get_reports, **query))
            for r in response.payload.get("reports", []):
                found.append(
                    Listed(
                        str(self._field(r, "reportId", "getReports")),
                        r.get("reportDocumentId"),
                        str(r.get("createdTime", "")),
                        str(r.get("processingStatus")),
                    )
                )
            token = response.next_token  # the library lifts nextToken out of the payload
            if not token:
                return found
            query = {"nextToken": token}

    # -- inbound -----------------------------------------------------------------------------

    def inbound(
        self, what: str, marketplace: str, after: dt.datetime, before: dt.datetime
    ) -> list[dict[str, Any]]:
        """Every shipment (`what="shipments"`) or shipment item (`"items"`) updated in the
        range, through all pages."""
        client = self._client("inbound", marketplace)
        mid = self._marketplace_id(marketplace)
        dates = {"LastUpdatedAfter": _iso(after), "LastUpdatedBefore": _iso(before)}
        if what == "shipments":
            operation, key, call = "getShipments", "ShipmentData", client.get_shipments
            query: dict[str, Any] = {
                "QueryType": "DATE_RANGE",
                "MarketplaceId": mid,
                "ShipmentStatusList": ",".join(INBOUND_STATUSES),
                **dates,
            }
        else:
            operation, key, call = "getShipmentItems", "ItemData", client.shipment_items
            query = {"QueryType": "DATE_RANGE", "MarketplaceId": mid, **dates}
        records: list[dict[str, Any]] = []
        while True:
            response = self._call(operation, partial(call, **query))
            records += response.payload.get(key) or []
            token = response.next_token
            if not token:
                return records
            query = {"QueryType": "NEXT_TOKEN", "NextToken": token, "MarketplaceId": mid}


def _exchange(source: SpApiSource, client: Any, url: str, data: Any, headers: Any) -> Any:
    """The library's token exchange (`AccessTokenClient._request`), made safe: an answer that is
    not JSON is a refusal too (the library would raise JSONDecodeError), the refusal carries the
    server's text masked, and every access token granted is remembered, to be masked."""
    from sp_api.auth.exceptions import AuthorizationError  # noqa: PLC0415

    response = client._transport.request("POST", url, data=data, headers=headers)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code == 200 and isinstance(answer, dict) and answer.get("access_token"):
        source.access_tokens.add(str(answer["access_token"]))
        return answer
    said = answer if isinstance(answer, dict) else {}
    text = said.get("error_description") if said else response.text
    raise AuthorizationError(said.get("error"), source.mask(str(text or "")), response.status_code)


def _at_endpoint(base: type) -> type:
    """The library's client with the Host header of the configured endpoint (it assumes
    `https://` and slices the scheme off by length)."""

    class AtEndpoint(base):  # type: ignore[misc]
        @property
        def headers(self) -> dict[str, str]:
            headers: dict[str, str] = super().headers
            headers["host"] = urlsplit(self.endpoint).netloc
            return headers

    return AtEndpoint
