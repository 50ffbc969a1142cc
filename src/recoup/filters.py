"""WHERE clauses from the filters a command or page was given, with their parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def where(
    equal: Mapping[str, Any], one_of: Mapping[str, Sequence[Any]] | None = None
) -> tuple[str, list[Any]]:
    """`column = value` for each of `equal`, `column IN (...)` for each non-empty `one_of`.

    Column names come from recoup's own code, never from the user; values are parameters."""
    parts = [f"{column} = ?" for column in equal]
    params = list(equal.values())
    for column, values in (one_of or {}).items():
        if values:
            parts.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    return " AND ".join(parts) or "true", params
