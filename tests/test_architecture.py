"""The layers of ARCHITECTURE.md hold: every module imports only from layers below its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "recoup"


def layers() -> dict[str, int]:
    """Top-level module or package -> layer, from the table in ARCHITECTURE.md."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    out: dict[str, int] = {}
    for number, modules in re.findall(r"^\| (\d+) \| ([^|]+) \|", text, flags=re.MULTILINE):
        for name in modules.replace("\\", "").split(","):
            out[name.strip()] = int(number)
    return out


def top(module: str) -> str:
    """`recoup.claims.store` -> `claims`; `recoup` itself -> ``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every recoup import in the file, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "recoup":  # `from recoup import claims`
                found += [(node.lineno, f"recoup.{a.name}") for a in node.names]
            elif node.module.startswith("recoup."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("recoup.")]
    return found


def module_of(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def climbing(path: Path, module: str, layer: dict[str, int]) -> list[str]:
    """The imports in one file that do not go down a layer."""
    own, name = top(module), path.name
    if not own:  # recoup/__init__.py, the package itself
        return []
    if own not in layer:
        return [f"{name}: {own} is in no layer of ARCHITECTURE.md"]
    problems = []
    for line, target in imports(path):
        other = top(target)
        if other == own or not other:
            continue
        if other not in layer:
            problems.append(f"{name}:{line}: {other} is in no layer")
        elif layer[other] >= layer[own]:
            problems.append(
                f"{module} ({name}:{line}, layer {layer[own]}) imports {target} "
                f"(layer {layer[other]})"
            )
    return problems


def test_every_import_goes_down_a_layer() -> None:
    layer = layers()
    found = [p for path in sorted(SOURCE.rglob("*.py"))
             for p in climbing(path, module_of(path), layer)]  # fmt: skip
    assert found == []


def test_the_table_names_every_module() -> None:
    names = {p.stem if p.is_file() else p.name for p in SOURCE.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists())} - {"__init__"}  # fmt: skip
    assert sorted(names - set(layers())) == []


@pytest.mark.parametrize(
    ("own", "target"),
    [("web", "recoup.cli.output"), ("simulate", "recoup.rules"), ("claims", "recoup.audit")],
)
def test_a_climbing_import_is_caught(tmp_path: Path, own: str, target: str) -> None:
    """The check itself fails where it should: the dashboard using a command, the simulator's
    answer key borrowing a rule, claims reaching up into the audit."""
    layer = layers()
    assert layer[top(target)] >= layer[own]
    path = tmp_path / "probe.py"
    path.write_text(f"import json\n\n\ndef f():\n    from {target} import x\n", encoding="utf-8")
    assert climbing(path, f"recoup.{own}.probe", layer) == [
        f"recoup.{own}.probe (probe.py:5, layer {layer[own]}) imports {target} "
        f"(layer {layer[top(target)]})"
    ]


def test_query_parameters_go_through_recoup_sql() -> None:
    """DuckDB loads pandas, NumPy and pyarrow (0.4 s) on a query's first Python parameter, and a
    Ctrl+C that lands in that import is lost; `recoup.sql.run` binds them as literals instead.
    `executemany` (bulk rows) is left to DuckDB."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "execute"
                and len(node.args) + len(node.keywords) > 1
            ):
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno}")  # fmt: skip
    assert found == []


def test_rules_read_the_as_of_date_only_in_their_queries() -> None:
    """An audit's trace is replayed on any later day (recoup.plans): a rule that decided
    something in Python from `ctx.as_of` would replay yesterday's decision. Rules use
    `ctx.as_of_value`, which is part of the query."""
    found = []
    for path in sorted((SOURCE / "rules").rglob("*.py")):
        if path.name == "context.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "as_of":
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno} .{node.attr}")
    assert found == []
