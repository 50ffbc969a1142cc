"""Marketplace codes from what reports print: a country, a site name, or a currency.

Codes are the country codes sellers use (`US`, `DE`, `UK`); Amazon's `GB` becomes `UK`.
A currency only settles the marketplace where one marketplace uses it (not the euro).
"""

from __future__ import annotations

SITES: dict[str, str] = {
    "amazon.com": "US",
    "amazon.ca": "CA",
    "amazon.com.mx": "MX",
    "amazon.com.br": "BR",
    "amazon.co.uk": "UK",
    "amazon.de": "DE",
    "amazon.fr": "FR",
    "amazon.it": "IT",
    "amazon.es": "ES",
    "amazon.nl": "NL",
    "amazon.se": "SE",
    "amazon.pl": "PL",
    "amazon.com.be": "BE",
    "amazon.com.tr": "TR",
    "amazon.ie": "IE",
    "amazon.ae": "AE",
    "amazon.sa": "SA",
    "amazon.eg": "EG",
    "amazon.in": "IN",
    "amazon.co.jp": "JP",
    "amazon.com.au": "AU",
    "amazon.sg": "SG",
}

CURRENCIES: dict[str, str] = {
    "USD": "US",
    "CAD": "CA",
    "MXN": "MX",
    "BRL": "BR",
    "GBP": "UK",
    "SEK": "SE",
    "PLN": "PL",
    "TRY": "TR",
    "AED": "AE",
    "SAR": "SA",
    "EGP": "EG",
    "INR": "IN",
    "JPY": "JP",
    "AUD": "AU",
    "SGD": "SG",
}

COUNTRY_ALIASES = {"GB": "UK"}

EURO = ("DE", "FR", "IT", "ES", "NL", "BE", "IE")
CURRENCY_OF: dict[str, str] = {code: cur for cur, code in CURRENCIES.items()} | dict.fromkeys(
    EURO, "EUR"
)


def normalise_marketplace(value: str) -> str | None:
    """`US`, `Amazon.com`, `www.amazon.co.uk`, `Non-Amazon CA` -> a code; None if unknown."""
    v = value.strip().lower().removeprefix("www.")
    if v.startswith("non-amazon"):
        v = v.removeprefix("non-amazon").strip()
        if not v:
            return None
    if v in SITES:
        return SITES[v]
    if len(v) == 2 and v.isalpha():
        code = v.upper()
        return COUNTRY_ALIASES.get(code, code)
    return None


def _lookup(codes: list[tuple[str, str]], key: str) -> str:
    """The code of the first (key, code) pair whose key is `key`, in SQL; NULL when none is.
    One list lookup: DuckDB plans it much faster than a CASE with a branch per key (and a
    small file's import is mostly planning)."""
    keys = ", ".join(f"'{k}'" for k, _ in codes)
    values = ", ".join(f"'{v}'" for _, v in codes)
    return f"[{values}][list_position([{keys}], {key})]"


def marketplace_sql(t: str) -> str:
    """SQL twin of `normalise_marketplace` over cleaned text `t`."""
    v = f"regexp_replace(regexp_replace(lower({t}), '^www\\.', ''), '^non-amazon\\s*', '')"
    names = [*SITES.items(), *((a.lower(), c) for a, c in COUNTRY_ALIASES.items())]
    # Most rows print a two-letter country (ledger `Country`): answer those without regexps.
    return (
        f"(CASE WHEN {t} IS NULL THEN NULL "
        f"WHEN length({t}) = 2 AND upper({t}) = 'GB' THEN 'UK' "
        f"WHEN length({t}) = 2 AND regexp_full_match({t}, '[A-Za-z]{{2}}') THEN upper({t}) "
        f"ELSE coalesce({_lookup(names, v)}, "
        f"CASE WHEN regexp_full_match({v}, '[a-z]{{2}}') THEN upper({v}) END) END)"
    )


def currency_sql(t: str) -> str:
    return f"({_lookup(list(CURRENCIES.items()), f'upper({t})')})"
