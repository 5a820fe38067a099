"""Nothing outside ``safety/`` reaches into safety's internals: it imports the service, the proposals,
verdicts and views the veto speaks in, and the alerts; it holds the ``SafetyService`` and tells it what to
do, never its book, gateway or keeper. And no package has an import cycle (the executor <-> entries one
is gone)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_layering import MAY_IMPORT, ROOT

PUBLIC = {"safety.service", "safety.operator", "safety.proposals", "safety.verdicts", "safety.views", "safety.alerts"}
"""The safety modules the rest of the system may import from."""
ALSO_PUBLIC = {("safety.reconcile", "equity")}
"""Single names outside those modules: the account-equity formula the drivers use for their equity curve
(``safety.service.account_equity`` is the same function)."""
INTERNAL_ATTRIBUTES = {"book", "executor", "gateway", "keeper", "_keeper", "_gateway", "_sweep", "_requests",
                       "_reconciler", "_commands"}


def _outside_safety() -> list[Path]:
    return [p for package in sorted(set(MAY_IMPORT) - {"safety"}) for p in sorted((ROOT / package).rglob("*.py"))]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def test_outside_safety_only_its_public_modules_are_imported() -> None:
    wrong = []
    for path in _outside_safety():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "safety":
                names = {(node.module, alias.name) for alias in node.names}
                if node.module not in PUBLIC and not names <= ALSO_PUBLIC:
                    wrong.append(f"{path.relative_to(ROOT)}: from {node.module} import {sorted(n for _, n in names)}")
            elif isinstance(node, ast.Import):
                wrong.extend(f"{path.relative_to(ROOT)}: import {a.name}" for a in node.names
                             if a.name.startswith("safety.") and a.name not in PUBLIC)
    assert not wrong, wrong


def test_nothing_outside_safety_reaches_through_the_service() -> None:
    """``engine.safety.book`` (or ``self.safety.executor.alerts``) would be a reach into the internals."""
    reaches = []
    for path in _outside_safety():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Attribute) and node.attr in INTERNAL_ATTRIBUTES and _names_safety(node.value):
                reaches.append(f"{path.relative_to(ROOT)}:{node.lineno}: .safety.{node.attr}")
    assert not reaches, reaches


def _names_safety(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "safety") or (
        isinstance(node, ast.Attribute) and node.attr == "safety"
    )


def test_the_checks_see_a_reach_when_there_is_one() -> None:
    """The two checks above are not vacuous: they flag the shapes they look for."""
    reach = ast.parse("engine.safety.book.records\nself.safety.executor.alerts")
    flagged = [n for n in ast.walk(reach) if isinstance(n, ast.Attribute) and n.attr in INTERNAL_ATTRIBUTES
               and _names_safety(n.value)]
    assert [n.attr for n in flagged] == ["book", "executor"]


# ---------------------------------------------------------------- import cycles


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Every module named by an import that runs (module level or inside a function), ``TYPE_CHECKING``
    blocks excluded."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend([node.module, *(f"{node.module}.{a.name}" for a in node.names)])
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for package in sorted(MAY_IMPORT) for p in (ROOT / package).rglob("*.py")}
    return {
        name: {m for m in _runtime_imports(_tree(path)) if m in paths and m != name}
        for name, path in paths.items()
    }


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {frozenset({node, *(n for n in reach[node] if node in reach[n])}) for node in graph if node in reach[node]}
    return sorted(sorted(group) for group in groups)


def test_no_package_has_an_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_one() -> None:
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}) == [["a.x", "a.y", "a.z"]]
