"""The floor plan holds: every import points down a layer, no module imports itself back.

Read from the source with ``ast`` (nothing is imported), so a new arrow that points up,
a cycle, or an import tucked inside a function to dodge one fails here, naming the file.

Layers, bottom first (README, "Architecture"):
models, integrations -> core -> services -> flows, jobs -> bot, admin -> roshni
Inside services, the domains: shared (errors, audit) -> people -> clinics, staff ->
messaging -> billing, clinical -> scheduling -> reconciliation, privacy, reports.
Packages on one floor do not import each other.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS: dict[str, int] = {
    "models": 0,
    "integrations": 0,
    "core": 1,
    "services": 2,
    "flows": 3,
    "jobs": 3,
    "bot": 4,
    "admin": 4,
    "roshni": 5,
}
DOMAINS: dict[str, int] = {
    "services": 0,  # the shared modules at the root: errors, audit, locks
    "people": 1,
    "clinics": 2,
    "staff": 2,
    "messaging": 3,
    "billing": 4,
    "clinical": 4,  # clinical records: notes, goals, assessments, documents, reports
    "scheduling": 5,
    "reconciliation": 6,
    "privacy": 6,
    "reports": 6,
}
# The composition root may import lazily: a CLI command loads only what it runs.
LAZY_IMPORTS_ALLOWED = ("roshni",)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted (first party only)
    line: int
    in_function: bool


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or not node.module:
        return []
    return [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]


def imports(root: Path) -> list[Import]:
    known = modules(root)
    found = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        nested = {id(inner) for f in functions for inner in ast.walk(f) if inner is not f}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = {_resolve(name, known) for name in _imported_names(node)}
            # `from services.billing import invoices` names the module, not the package.
            if isinstance(node, ast.ImportFrom) and len(targets) > 1:
                targets.discard(_resolve(node.module or "", known))
            for target in sorted(t for t in targets - {None, module} if t):
                found.append(Import(module, target, node.lineno, id(node) in nested))
    return found


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def _domain(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "services":
        return None
    return parts[1] if len(parts) > 2 else "services"


def wrong_way(found: list[Import]) -> list[str]:
    problems = []
    for imp in found:
        top, target_top = imp.source.split(".")[0], imp.target.split(".")[0]
        if top != target_top and _layer(imp.target) >= _layer(imp.source):
            problems.append(f"{imp.source}:{imp.line} imports {imp.target} (not a lower layer)")
        source_domain, target_domain = _domain(imp.source), _domain(imp.target)
        if (
            source_domain
            and target_domain
            and source_domain != target_domain
            and DOMAINS[target_domain] >= DOMAINS[source_domain]
        ):
            problems.append(
                f"{imp.source}:{imp.line} imports {imp.target} "
                f"(services.{target_domain} is not below services.{source_domain})"
            )
    return problems


def cycles(found: list[Import]) -> list[list[str]]:
    """One loop per back edge a depth-first walk meets: empty exactly when there is none."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        graph.setdefault(imp.source, set()).add(imp.target)
    done: set[str] = set()
    loops = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                loops.append([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return loops


def lazy(found: list[Import]) -> list[str]:
    return [
        f"{imp.source}:{imp.line} imports {imp.target} inside a function"
        for imp in found
        if imp.in_function and not imp.source.startswith(LAZY_IMPORTS_ALLOWED)
    ]


def test_every_import_points_down_a_layer() -> None:
    assert wrong_way(imports(ROOT)) == []


def test_no_module_imports_itself_back() -> None:
    assert cycles(imports(ROOT)) == []


def test_first_party_imports_sit_at_the_top_of_the_module() -> None:
    assert lazy(imports(ROOT)) == []


def test_every_package_has_a_layer_and_every_service_a_domain() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert packages - {"tests", "bench"} == set(LAYERS)
    domains = {p.parent.name for p in (ROOT / "services").glob("*/__init__.py")}
    assert domains == set(DOMAINS) - {"services"}
    shared = {p.stem for p in (ROOT / "services").glob("*.py")}
    assert shared == {"__init__", "errors", "audit", "locks"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in [*LAYERS, "services/billing", "services/people"]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    return tmp_path


def test_the_checks_see_an_upward_arrow_a_cycle_and_a_dodge(tree: Path) -> None:
    (tree / "core" / "clock.py").write_text("from flows import engine\n")
    (tree / "flows" / "engine.py").write_text("from flows.booking import start\n")
    (tree / "flows" / "booking.py").write_text("def start():\n    from flows import engine\n")
    (tree / "services" / "people" / "patients.py").write_text(
        "from services.billing.invoices import total\n"
    )
    (tree / "services" / "billing" / "invoices.py").write_text("total = 1\n")

    found = imports(tree)

    assert wrong_way(found) == [
        "core.clock:1 imports flows.engine (not a lower layer)",
        "services.people.patients:1 imports services.billing.invoices "
        "(services.billing is not below services.people)",
    ]
    assert cycles(found) == [["flows.engine", "flows.booking", "flows.engine"]]
    assert lazy(found) == ["flows.booking:2 imports flows.engine inside a function"]
