"""Safety is never gated: the gate imports nothing that acts, and its API can only report wakes.

The engine runs the safety guard before it asks the gate anything (DESIGN.md, event flow step 2 before 3);
these tests pin the gate's side of that contract. ``test_properties`` adds that an exhausted budget never
silences, delays or changes a wake.
"""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import gate as gate_package
from core.types import WakeReason
from gate.gate import Gate

ALLOWED_ROOTS = {"core", "gate", "pydantic", "pydantic_core", "numpy", "pandas", "typer", "rich"}
GATE_DIR = Path(gate_package.__file__).parent


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_gate_imports_only_core_and_libraries() -> None:
    import sys

    for path in sorted(GATE_DIR.glob("*.py")):
        ours = {root for root in _imported_roots(path) if root not in sys.stdlib_module_names}
        allowed = ALLOWED_ROOTS
        assert ours <= allowed, f"{path.name} imports {sorted(ours - allowed)}"


def test_the_gate_api_answers_with_wakes_never_with_permissions() -> None:
    """No public method returns a bool or takes an order, position action or broker: nothing to block the guard."""
    hints_of = {name: typing.get_type_hints(member) for name, member in inspect.getmembers(Gate, inspect.isfunction)}
    public = {name: hints for name, hints in hints_of.items() if not name.startswith("_")}
    for name, hints in public.items():
        assert hints.get("return") is not bool, name
        for parameter, annotation in hints.items():
            assert "Broker" not in repr(annotation), (name, parameter)
            assert "Order" not in repr(annotation), (name, parameter)
    for name in ("observe", "observe_price", "observe_regime", "tick"):
        assert public[name]["return"] == WakeReason | None, name
