"""DESIGN.md's "may import" column, checked: a package imports only the packages its row names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"core", "store", "market", "exchange", "gate", "tools", "agent", "prompts", "safety", "learning", "engine",
        "backtests", "dashboard", "venue", "holdings"}
MAY_IMPORT = {
    "core": set(),
    "store": {"core"},
    "market": {"core", "store"},
    "exchange": {"core"},
    "gate": {"core"},
    "tools": {"core", "market", "exchange", "safety", "learning"},
    "agent": {"core", "tools", "prompts"},
    "prompts": set(),
    "safety": {"core", "exchange", "store"},
    "learning": {"core", "store"},
    "holdings": {"core", "store", "market", "safety"},
    "engine": OURS - {"engine", "backtests", "dashboard", "venue"},
    "backtests": OURS - {"backtests", "dashboard", "venue"},
    # The dashboard presents run directories (backtests) and live stores: it sits on top of everything.
    "dashboard": OURS - {"dashboard", "venue"},
    "venue": {"core", "exchange", "market"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_what_its_row_allows(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {sorted(extra)}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if (extra := imported_packages(path) - MAY_IMPORT[package] - {package})
    }
    assert not wrong, sorted(wrong)
