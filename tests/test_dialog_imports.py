"""The conversation layer's arrows point one way: the engine imports the flows, the flows
import ``flows.dialog`` and each other (payment ← booking ← my_appointments ← onboarding),
and no service imports ``flows`` at all. Read from the source, so a function-local import
that hides a cycle fails here too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The one deliberate function-local import: dateparser is slow to load and rarely needed.
LAZY = {("flows/parsing.py", "dateparser.date")}
# Each flow may import only the flows listed after it.
FLOW_ORDER = ["engine", "onboarding", "my_appointments", "booking", "payment", "dialog"]


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(name, id(node) in top) for name in names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
    return found


def _flows_imported(path: Path) -> set[str]:
    return {name.split(".")[1] for name, _top in _imports(path) if name.startswith("flows.")}


def test_no_function_local_imports_in_flows() -> None:
    local = []
    for path in sorted((ROOT / "flows").glob("*.py")):
        file = str(path.relative_to(ROOT))
        for name, top in _imports(path):
            if not top and not any(file == f and name.startswith(m) for f, m in LAZY):
                local.append((file, name))
    assert local == []


def test_services_never_import_flows() -> None:
    offenders = [
        (str(path.relative_to(ROOT)), name)
        for path in sorted((ROOT / "services").rglob("*.py"))
        for name, _top in _imports(path)
        if name == "flows" or name.startswith("flows.")
    ]
    assert offenders == []


def test_the_flows_form_a_chain_below_the_engine() -> None:
    for position, flow in enumerate(FLOW_ORDER):
        allowed = set(FLOW_ORDER[position + 1 :]) | {"parsing"}
        imported = _flows_imported(ROOT / "flows" / f"{flow}.py") - {flow}
        assert imported <= allowed, (flow, imported - allowed)
