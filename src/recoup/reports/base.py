"""What a report type is: a declaration of its columns, how to cast them and how overlaps merge.

A report module declares data, not parsing code: the canonical columns, the header names Amazon
prints for each (every known variant and translation), the value kind, and the merge policy.
The ingest pipeline turns any declaration into staging, casting and merging SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "int", "decimal", "measure", "date", "bool"]


def normalise_header(name: str) -> str:
    """Header names match after lower-casing and dropping BOM, quotes, spaces, `-`, `_` and `:`.

    Amazon prints the same column as `Event Type` (real files), `EventType` (docs) or
    `event-type`; a Seller Central CSV may quote it or carry a BOM.
    """
    name = name.replace("\ufeff", "").strip().strip('"').strip()
    return re.sub(r"[\s\-_:\"]+", "", name.lower())


@dataclass(frozen=True)
class Column:
    """One canonical column and the header names it may come from."""

    name: str
    sources: tuple[str, ...]
    kind: Kind = "text"
    required: bool = False  # the header must be present for the report to be recognised
    not_null: bool = False  # every row must have a value, or the row is rejected
    # Counts and costs that are never below zero in the report (amazon-reports.md): a negative
    # value is a reject, not a quantity recoup would add up.
    never_negative: bool = False

    @property
    def normalised_sources(self) -> tuple[str, ...]:
        return tuple(normalise_header(s) for s in self.sources)


@dataclass(frozen=True)
class DayBased:
    """Each (account, marketplace, day) takes its rows from the newest file covering that day."""

    day_column: str


@dataclass(frozen=True)
class Snapshot:
    """The newest download holding a key wins, with every line it has for that key (a status, a
    received quantity, a price; an order's lines as a whole)."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class BySettlement:
    """A settlement is one period of money: the newest file holding a settlement id wins it."""


Merge = DayBased | Snapshot | BySettlement


@dataclass(frozen=True)
class MarketplaceSource:
    """A column that tells the row's marketplace, read as a marketplace name or a currency."""

    column: str
    read_as: Literal["marketplace", "currency"] = "marketplace"


@dataclass(frozen=True)
class ReportType:
    """A report layout recoup recognises by its header and casts into one canonical table."""

    name: str  # layout id, e.g. "settlement_v1"
    table: str  # canonical table (status key), e.g. "settlements"
    title: str  # the name a seller knows it by (its table's first layout names the table)
    columns: tuple[Column, ...]
    merge: Merge
    date_column: str | None = None  # the date shown as the period in summaries
    # How a case text cites it, in the seller's voice ("my settlement report"); default: title.
    cited_as: str = ""
    # Where Seller Central offers the download (shown when an audit needs it, principle 11).
    download_from: str = ""
    marketplace_from: tuple[MarketplaceSource, ...] = ()
    localised_numbers: bool = False  # amounts may use `,` decimals (EU settlement, Date Range)
    # Ledger reports may wrap every value in double quotes even when tab-separated (jlevers PR
    # #537); other SP-API flat files are never quoted and a `"` is a literal character.
    may_quote_tsv: bool = False
    # Reports whose rows do not map one to one onto the canonical table (settlement V1 holds
    # several amounts per line) give `shape`: the cast rows' relation name -> [(table, SELECT)].
    shape: Callable[[str], list[tuple[str, str]]] | None = None
    # An ingest check: file id -> SQL returning one warning text per problem found.
    check: Callable[[int], str] | None = None
    # Lines that read well but cannot be used: the typed rows' relation -> SQL returning
    # (line, column header, raw text, problem); they become rejects instead of rows.
    unusable: Callable[[str], str] | None = None

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def signature(self) -> tuple[tuple[str, ...], ...]:
        """Groups of header names; the header must hold one name of every group."""
        return tuple(c.normalised_sources for c in self.columns if c.required)

    def match(self, header: list[str]) -> tuple[int, list[str]]:
        """How many signature groups this header satisfies, and the names of the missing ones."""
        present = set(header)
        missing = [
            c.sources[0]
            for c in self.columns
            if c.required and not present.intersection(c.normalised_sources)
        ]
        return len(self.signature) - len(missing), missing

    def locate(self, header: list[str]) -> dict[str, int]:
        """Canonical column name -> index in this file's header (absent columns are left out)."""
        index: dict[str, int] = {}
        for col in self.columns:
            for source in col.normalised_sources:
                if source in header:
                    index[col.name] = header.index(source)
                    break
        return index


def text(name: str, *sources: str, required: bool = False, not_null: bool = False) -> Column:
    return Column(name, sources, "text", required, not_null)


def integer(
    name: str, *sources: str, required: bool = False, not_null: bool = False,
    never_negative: bool = False,
) -> Column:  # fmt: skip
    return Column(name, sources, "int", required, not_null, never_negative)


def money(
    name: str, *sources: str, required: bool = False, not_null: bool = False,
    never_negative: bool = False,
) -> Column:  # fmt: skip
    return Column(name, sources, "decimal", required, not_null, never_negative)


def measure(name: str, *sources: str) -> Column:
    return Column(name, sources, "measure")


def day(name: str, *sources: str, required: bool = False, not_null: bool = False) -> Column:
    return Column(name, sources, "date", required, not_null)


def flag(name: str, *sources: str) -> Column:
    return Column(name, sources, "bool")
