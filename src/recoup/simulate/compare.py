"""Compare findings with the answer key the way audit-rules.md tells tools to: sum `quantity` and
`amount` per (kind, marketplace, fnsku, order_id, shipment_id, removal_order_id,
reimbursement_id), and compare each such group's clock dates, windows, states, value bases and
`needs` (the downloads an unverified finding waits for)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

GROUP = ("kind", "marketplace", "fnsku", "order_id", "shipment_id", "removal_order_id",
         "reimbursement_id")  # fmt: skip
DETAIL = ("event_date", "state", "window_opens", "window_closes", "value_basis", "needs")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def summarise(findings: Iterable[Mapping[str, Any]]) -> dict[tuple[str, ...], Any]:
    groups: dict[tuple[str, ...], Any] = defaultdict(lambda: [0, Decimal(0), set()])
    for f in findings:
        group = groups[tuple(_text(f[c]) for c in GROUP)]
        group[0] += int(f["quantity"])
        group[1] += Decimal(_text(f["amount"]))
        group[2].add(tuple(_text(f.get(c)) for c in DETAIL))  # `needs` may be absent: blank
    return groups


def differences(
    expected: Iterable[Mapping[str, Any]], found: Iterable[Mapping[str, Any]]
) -> list[str]:
    """One line per group that differs; empty when the two agree."""
    want, got = summarise(expected), summarise(found)
    lines = []
    for key in sorted(set(want) | set(got)):
        a, b = want.get(key), got.get(key)
        if a is None or b is None or a[0] != b[0] or a[1] != b[1] or a[2] != b[2]:
            show = " ".join(f"{c}={v}" for c, v in zip(GROUP, key, strict=True) if v)
            lines.append(f"{show}: expected {_show(a)}, found {_show(b)}")
    return lines


def _show(group: Any) -> str:
    if group is None:
        return "nothing"
    return f"{group[0]} units, {group[1]:.2f}, {sorted(group[2])}"
