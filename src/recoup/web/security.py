"""Who may use the dashboard, and proof that a change came from its own pages.

- **Loopback by default.** Bound to 127.0.0.1 the dashboard answers only requests addressed to
  localhost, so a web page that points its own host name at 127.0.0.1 (DNS rebinding) gets
  nothing. Binding anywhere else needs a password (there is no default one).
- **Password.** A login form; a right password gets a fresh session cookie (HttpOnly,
  SameSite=Lax), kept in this process's memory for 12 hours.
- **CSRF.** Every request that changes something (anything but GET/HEAD) must carry the
  `X-CSRF-Token` header, a keyed hash of the session cookie that only our own pages know (htmx
  sends it on every request). A request whose `Origin` is another site is refused as well.
- **Headers.** A Content-Security-Policy without inline scripts, so even text that slipped past
  the escaping could not run; no framing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

SESSION_COOKIE = "recoup_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 12
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """The dashboard's access rules for one `recoup serve` process."""

    password: str | None
    loopback: bool
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    logged_in: dict[str, float] = field(default_factory=dict)  # session -> expiry (monotonic)

    def csrf_token(self, session: str) -> str:
        return hmac.new(self.secret, session.encode(), hashlib.sha256).hexdigest()

    def check_password(self, attempt: str) -> bool:
        if self.password is None:
            return True
        return hmac.compare_digest(attempt.encode(), self.password.encode())

    def log_in(self) -> str:
        """A new session id (never the one from before the login: no session fixation)."""
        session = secrets.token_urlsafe(32)
        self.logged_in[session] = time.monotonic() + SESSION_HOURS * 3600
        return session

    def log_out(self, session: str) -> None:
        self.logged_in.pop(session, None)

    def authenticated(self, session: str | None) -> bool:
        if self.password is None:
            return True
        expiry = self.logged_in.get(session or "")
        if expiry is None or expiry < time.monotonic():
            self.logged_in.pop(session or "", None)
            return False
        return True

    def host_allowed(self, request: Request) -> bool:
        if not self.loopback:
            return True  # a password protects it; the host name may be anything
        name = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
        return name in LOCAL_NAMES

    def same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:  # not sent by every browser on same-origin requests
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    async def __call__(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not self.host_allowed(request):
            return PlainTextResponse(
                "recoup answers only requests to localhost or 127.0.0.1", status_code=400
            )
        session = request.cookies.get(SESSION_COOKIE)
        fresh = session is None
        if session is None:
            session = secrets.token_urlsafe(32)
        request.state.session = session
        request.state.csrf = self.csrf_token(session)
        path = request.url.path
        open_path = path == "/login" or path.startswith("/static/")
        if not open_path and not self.authenticated(session):
            if request.method in SAFE_METHODS and "hx-request" not in request.headers:
                target = quote(str(request.url.path), safe="/")
                response: Response = RedirectResponse(f"/login?next={target}", status_code=303)
            else:
                response = PlainTextResponse("log in first", status_code=401)
                response.headers["HX-Redirect"] = "/login"
        elif request.method not in SAFE_METHODS and not self.same_origin(request):
            response = PlainTextResponse("refused: the request came from another site", 403)
        elif request.method not in SAFE_METHODS and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, ""), request.state.csrf
        ):
            response = PlainTextResponse(
                "refused: the request lacks this dashboard's CSRF token; reload the page", 403
            )
        else:
            response = await call_next(request)
        # The login route sets its own, new session; the middleware's must not overwrite it.
        if fresh and SESSION_COOKIE not in response.headers.get("set-cookie", ""):
            set_session(response, session)
        secure_headers(response)
        return response


def set_session(response: Response, session: str) -> None:
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", path="/")


def secure_headers(response: Response) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.headers.get("content-type", "").startswith("text/html"):
        response.headers.setdefault("Cache-Control", "no-store")
