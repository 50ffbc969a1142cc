"""SP-API credentials: from `RECOUP_*` environment variables or a credentials file.

The file (TOML) must be readable by its owner only (mode 0600): recoup refuses it otherwise.
Secrets are never printed: the `repr` of `Credentials` masks them, errors name the setting, not
its value, and any text a server sends back goes through `mask` before it becomes a message (a
token endpoint or a proxy can echo the whole request, secrets and all: issue 20).
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

from recoup.reports.marketplaces import normalise_marketplace

ENDPOINTS = {  # the SP-API endpoint of each region
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ENV = {  # setting -> environment variable
    "client_id": "RECOUP_LWA_CLIENT_ID",
    "client_secret": "RECOUP_LWA_CLIENT_SECRET",
    "refresh_token": "RECOUP_SPAPI_REFRESH_TOKEN",
    "endpoint": "RECOUP_SPAPI_ENDPOINT",
    "token_url": "RECOUP_LWA_TOKEN_URL",
    "marketplaces": "RECOUP_SPAPI_MARKETPLACES",
    "region": "RECOUP_SPAPI_REGION",
}
FILE_ENV = "RECOUP_SPAPI_CREDENTIALS"  # path of the credentials file
SECRETS = ("client_id", "client_secret", "refresh_token")
SHORTEST_SECRET = 6  # shorter values are not masked (they would mangle every message)
MASK = "***"


class CredentialsError(ValueError):
    """Missing or unsafe credentials (names what, never a secret)."""


@dataclass(frozen=True)
class Credentials:
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    endpoint: str
    token_url: str
    marketplaces: tuple[str, ...]

    def __repr__(self) -> str:
        return (f"Credentials(client_id=***, client_secret=***, refresh_token=***, "
                f"endpoint={self.endpoint!r}, marketplaces={self.marketplaces!r})")  # fmt: skip


def secrets_of(credentials: Credentials) -> list[str]:
    """The secret values of the credentials (access tokens are the source's to add)."""
    return [getattr(credentials, name) for name in SECRETS]


def _forms(secret: str) -> set[str]:
    """A secret as a server can send it back: raw, JSON-escaped, and URL-encoded as a form
    body or a query (`+/=|` change; either case of escape: the pattern ignores it)."""
    encoded = {quote(secret), quote(secret, safe=""), quote_plus(secret),
               quote_plus(secret, safe="/")}  # fmt: skip
    return {secret, json.dumps(secret)[1:-1], secret.replace("/", "\\/"), *encoded}


def _pattern(form: str) -> str:
    parts = re.split(r"(%[0-9A-Fa-f]{2})", form)
    return "".join(f"(?i:{re.escape(p)})" if p.startswith("%") else re.escape(p) for p in parts)


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret, in every form a server may echo it in, replaced by `***`.

    The one way server text (an error answer, an error document, a library's message) becomes
    a message recoup shows, stores or logs; mask before cutting a text short, so that no part
    of a secret survives."""
    forms = {f for s in secrets if len(s) >= SHORTEST_SECRET for f in _forms(s)}
    if not forms or not text:
        return text
    found = "|".join(_pattern(f) for f in sorted(forms, key=len, reverse=True))
    return re.sub(found, MASK, text)


def check_private(path: Path, what: str = "credentials file") -> None:
    """A secret file must exist and be readable by its owner only (mode 0600)."""
    if not path.is_file():
        raise CredentialsError(f"{path}: no such {what}")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredentialsError(
            f"{path}: readable by others (mode {mode:04o}); run chmod 600 {path}"
        )


def _from_file(path: Path) -> dict[str, str]:
    check_private(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CredentialsError(f"{path}: not a TOML file ({error.__class__.__name__})") from None
    return {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in data.items()}


def load(env: Mapping[str, str] | None = None, file: Path | None = None) -> Credentials:
    """Environment variables win over the file; the endpoint follows the region unless set."""
    env = os.environ if env is None else env
    path = file or (Path(env[FILE_ENV]) if env.get(FILE_ENV) else None)
    values = _from_file(path) if path else {}
    values |= {k: env[v] for k, v in ENV.items() if env.get(v)}
    missing = [ENV[k] for k in ("client_id", "client_secret", "refresh_token") if not values.get(k)]
    if missing:
        raise CredentialsError(
            f"missing {', '.join(missing)} (environment, or a 0600 credentials file named by "
            f"{FILE_ENV})"
        )
    marketplaces = tuple(_marketplace(m) for m in values.get("marketplaces", "US").split(",")
                         if m.strip())  # fmt: skip
    region = values.get("region", "").upper() or _region(marketplaces[0] if marketplaces else "US")
    if region not in ENDPOINTS:
        raise CredentialsError(f"{ENV['region']}: unknown region {region!r} (NA, EU or FE)")
    return Credentials(
        client_id=values["client_id"],
        client_secret=values["client_secret"],
        refresh_token=values["refresh_token"],
        endpoint=values.get("endpoint", ENDPOINTS[region]).rstrip("/"),
        token_url=values.get("token_url", LWA_TOKEN_URL),
        marketplaces=marketplaces or ("US",),
    )


def _marketplace(text: str) -> str:
    code = normalise_marketplace(text)
    if code is None:
        raise CredentialsError(f"{ENV['marketplaces']}: unknown marketplace {text.strip()!r}")
    return code


def _region(marketplace: str) -> str:
    if marketplace in ("US", "CA", "MX", "BR"):
        return "NA"
    if marketplace in ("JP", "AU", "SG"):
        return "FE"
    return "EU"
