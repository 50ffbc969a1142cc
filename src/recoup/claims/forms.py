"""How each finding kind is claimed, read from `forms.toml` (a declaration per kind)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from recoup.rules import KINDS

GROUP_FIELDS = ("fnsku", "order_id", "shipment_id", "removal_order_id", "reimbursement_id")


@dataclass(frozen=True)
class Form:
    kind: str
    title: str
    group_by: str
    line_id: str
    line_label: str
    file_at: str
    policy: str
    attach: tuple[str, ...]
    expected: str
    accounted: str
    settle_by: str  # "units" or "amount"
    pays: tuple[str, ...]
    match_on: str


@cache
def forms() -> dict[str, Form]:
    raw = tomllib.loads(
        resources.files("recoup.claims").joinpath("forms.toml").read_text(encoding="utf-8")
    )
    out = {}
    for kind, spec in raw.items():
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in spec.items()}  # fmt: skip
        form = Form(kind=kind, **fields)
        if form.group_by not in GROUP_FIELDS or form.settle_by not in ("units", "amount"):
            raise ValueError(f"forms.toml [{kind}]: bad group_by or settle_by")
        out[kind] = form
    missing = set(KINDS) - set(out)
    if missing:
        raise ValueError(f"forms.toml has no claim form for {sorted(missing)}")
    return out


def form(kind: str) -> Form:
    return forms()[kind]
