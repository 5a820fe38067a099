"""Nothing outside ``safety/`` reaches into safety's internals: it imports the service, the proposals,
verdicts and views the veto speaks in, and the alerts; it holds the ``SafetyService`` and tells it what to
do, never its book, gateway or keeper. (No package has an import cycle: ``tests/test_architecture.py``.)"""

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
