"""Dates and numbers as Amazon prints them in each report family and locale."""

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from recoup.reports.base import normalise_header
from recoup.reports.casts import FileStyle, cast_sql, date_sql, plain_slash_date
from recoup.reports.marketplaces import normalise_marketplace


def _eval(sql: str, value: str) -> object:
    row = (
        duckdb.connect().execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS t)", [value]).fetchone()
    )
    assert row is not None
    return row[0]


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("05/13/2026", dt.date(2026, 5, 13)),  # ledger Date, also for EU sellers
        ("2026-05-12T09:59:13+00:00", dt.date(2026, 5, 12)),  # ISO: the printed date
        ("2026-05-13T23:30:00-0700", dt.date(2026, 5, 13)),  # never shifted by the offset
        ("04/2023", dt.date(2023, 4, 1)),  # monthly ledger summary
        ("03.05.2018 09:10:07 UTC", dt.date(2018, 5, 3)),  # DE settlement header
        ("2026-03-14 08:49:04 UTC", dt.date(2026, 3, 14)),  # US settlement posted-date-time
        ("Sep 4, 2026 1:05:07 AM PDT", dt.date(2026, 9, 4)),  # US Date Range
        ("1 Sept 2025 03:28:04 UTC", dt.date(2025, 9, 1)),  # UK Date Range
        ("1 juil. 2025 00:01:49 UTC", dt.date(2025, 7, 1)),  # FR Date Range
        ("01.07.2025 00:01:49 UTC", dt.date(2025, 7, 1)),  # DE Date Range
        ("1 Jul 2026 4:24:44 am UTC", dt.date(2026, 7, 1)),  # IN Date Range
        ("2025/07/01 0:01:49 JST", dt.date(2025, 7, 1)),  # JP
        ("13/13/2026", None),
        ("yesterday", None),
    ],
)
def test_dates(printed: str, expected: dt.date | None) -> None:
    assert _eval(date_sql("t", FileStyle()), printed) == expected


def test_day_first_slashes_when_the_file_says_so() -> None:
    assert _eval(date_sql("t", FileStyle(slash_order="dmy")), "09/06/25") == dt.date(2025, 6, 9)
    assert _eval(date_sql("t", FileStyle()), "09/06/25") == dt.date(2025, 9, 6)


@pytest.mark.parametrize(
    ("printed", "style", "localised", "expected"),
    [
        ("-6.38", "plain", False, Decimal("-6.38")),
        ("179,99", "comma", True, Decimal("179.99")),
        ("1.234,56", "comma", True, Decimal("1234.56")),
        ("1\u00a0234,56", "comma", True, Decimal("1234.56")),  # FR thousands: no-break space
        ("1,234.56", "dot", True, Decimal("1234.56")),
        ("1,234.56", "plain", False, None),  # SP-API files never group thousands: reject
        ("abc", "plain", False, None),
    ],
)
def test_amounts(printed: str, style: str, localised: bool, expected: Decimal | None) -> None:
    sql = cast_sql("decimal", "t", FileStyle(numbers=style), localised)  # type: ignore[arg-type]
    assert _eval(sql, printed) == expected


@pytest.mark.parametrize(("printed", "expected"), [("12", 12), ("-3", -3), ("1.5", None)])
def test_whole_numbers_are_never_rounded(printed: str, expected: int | None) -> None:
    assert _eval(cast_sql("int", "t", FileStyle(), False), printed) == expected


def test_header_names_normalise() -> None:
    assert normalise_header('\ufeff"Event Type" ') == normalise_header("EventType") == "eventtype"
    assert normalise_header("quantity-reimbursed-total") == "quantityreimbursedtotal"


@pytest.mark.parametrize(
    ("printed", "code"),
    [
        ("Amazon.com", "US"),
        ("Non-Amazon CA", "CA"),
        ("GB", "UK"),
        ("amazon.de", "DE"),
        ("Non-Amazon", None),
        ("LGB3", None),
    ],
)
def test_marketplaces(printed: str, code: str | None) -> None:
    assert normalise_marketplace(printed) == code


PLAIN_SLASH = ["05/13/2026", "5/3/2026", "13/05/2026", "02/30/2026", "13/13/2026", "1/1/2026"]
NOT_PLAIN_SLASH = [
    "12/31/26",
    "1/2/2026 10:00",
    "2026-05-12",
    "1/34-/2026",
    "5/13/20261",
    "05.13.2026",
]


@pytest.mark.parametrize("printed", PLAIN_SLASH + NOT_PLAIN_SLASH)
@pytest.mark.parametrize("order", ["mdy", "dmy"])
def test_the_plain_slash_shortcut_reads_exactly_like_the_general_parser(
    printed: str, order: str
) -> None:
    """Where every value of a column passes the guard, the one-strptime cast is used instead."""
    assert _eval(plain_slash_date("t"), printed) == (printed in PLAIN_SLASH)
    general = FileStyle(slash_order=order)  # type: ignore[arg-type]
    shortcut = FileStyle(slash_order=order, plain_slash_dates=frozenset({"t"}))  # type: ignore[arg-type]
    if printed in PLAIN_SLASH:
        assert _eval(date_sql("t", shortcut), printed) == _eval(date_sql("t", general), printed)
