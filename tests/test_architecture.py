"""The parts of ``docs/architecture.md``'s change maps a test can check, on the source itself (no imports run):

- no module outside ``engine/wiring.py`` names a run mode, so adding a mode or an exchange touches the
  composition root and the new adapter only;
- no import cycle inside a package (``DESIGN.md``: a cycle is a design bug);
- no module over 400 lines.

An entry in an ``ALLOWED``/``KNOWN`` table below must say why; one that no longer applies fails the test,
so the tables only ever shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.test_layering import MAY_IMPORT

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tuple(sorted(MAY_IMPORT))
MODES = {"backtest", "paper", "testnet", "mainnet"}
MAX_LINES = 400

MODE_ALLOWED = {
    "engine/wiring.py": "the composition root: the one place that says what a mode means",
    "core/settings.py": "mainnet's confirmation and leverage cap hold wherever settings load",
    "core/settings_sections.py": "defines RunMode; risk's stricter mainnet caps hold wherever settings load",
}
MODE_KNOWN: dict[str, str] = {}
CYCLES_KNOWN: dict[frozenset[str], str] = {}
SIZE_KNOWN: dict[str, str] = {}


@cache
def modules() -> tuple[tuple[str, ast.Module], ...]:
    """Every module of the packages, parsed once per session: (path relative to the root, tree)."""
    paths = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
    return tuple((path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))) for path in paths)


def names_a_mode(tree: ast.Module) -> list[str]:
    """``RunMode.PAPER``-style references, and comparisons or ``case`` patterns against a mode's string."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "RunMode":
            found.append(f"line {node.lineno}: RunMode.{node.attr}")
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literals = [c for o in operands for c in ([*o.elts] if isinstance(o, ast.Tuple | ast.List | ast.Set) else [o])
                        if isinstance(c, ast.Constant)]
            found += [f"line {node.lineno}: compares with {c.value!r}" for c in literals if c.value in MODES]
        elif isinstance(node, ast.MatchValue) and isinstance(node.value, ast.Constant) and node.value.value in MODES:
            found.append(f"line {node.lineno}: case {node.value.value!r}")
    return found


def test_the_mode_finder_finds_every_spelling() -> None:
    source = "a = RunMode.PAPER\nif mode == 'testnet': pass\nif m in ('x', 'mainnet'): pass\nmatch m:\n case 'paper': pass\n"
    assert len(names_a_mode(ast.parse(source))) == 4
    assert names_a_mode(ast.parse("def f(mode: RunMode) -> str: return f'{mode} paper'")) == []


def test_no_module_outside_the_composition_root_names_a_run_mode() -> None:
    naming = {path: where for path, tree in modules() if (where := names_a_mode(tree))}
    wrong = {path: where for path, where in naming.items() if path not in MODE_ALLOWED and path not in MODE_KNOWN}
    assert not wrong, f"run modes are engine/wiring.py's business: {wrong}"
    stale = sorted(set(MODE_KNOWN) - set(naming))
    assert not stale, f"no longer names a run mode: delete from MODE_KNOWN: {stale}"
    assert "engine/wiring.py" in naming, "the composition root should be where the modes are named"


def runtime_imports(tree: ast.Module) -> Iterator[str]:
    """Modules imported at import or call time (``if TYPE_CHECKING:`` blocks are annotations, not dependencies)."""
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node.test)
               for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _sibling_modules(tree: ast.Module, known: set[str]) -> set[str]:
    """Packages named only to reach a submodule (``from venue import errors``): that is an import of
    ``venue.errors``, not of everything ``venue/__init__`` re-exports."""
    only_for_submodules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if all(f"{node.module}.{alias.name}" in known for alias in node.names):
                only_for_submodules.add(node.module)
    return only_for_submodules


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph(package: str) -> dict[str, set[str]]:
    trees = {path.removesuffix(".py").removesuffix("/__init__").replace("/", "."): tree
             for path, tree in modules() if path.startswith(f"{package}/")}
    known = set(trees)
    return {
        name: {m for m in runtime_imports(tree) if m in known and m != name} - _sibling_modules(tree, known)
        for name, tree in trees.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == [frozenset({"p.a", "p.b", "p.c"})]


def test_no_import_cycle_inside_a_package() -> None:
    found = {component for package in PACKAGES for component in cycles(import_graph(package))}
    wrong = [sorted(c) for c in found if c not in CYCLES_KNOWN]
    assert not wrong, f"import cycles: {wrong}"
    stale = [sorted(c) for c in CYCLES_KNOWN if c not in found]
    assert not stale, f"gone: delete from CYCLES_KNOWN: {stale}"


def test_no_module_over_400_lines() -> None:
    sizes = {path: len((ROOT / path).read_text(encoding="utf-8").splitlines()) for path, _ in modules()}
    wrong = {path: n for path, n in sizes.items() if n > MAX_LINES and path not in SIZE_KNOWN}
    assert not wrong, f"split these (small modules are read in one sitting): {wrong}"
    stale = [path for path in SIZE_KNOWN if sizes.get(path, 0) <= MAX_LINES]
    assert not stale, f"back under {MAX_LINES} lines or gone: delete from SIZE_KNOWN: {stale}"


def test_reaching_a_sibling_through_its_package_is_an_import_of_the_sibling_only() -> None:
    tree = ast.parse("from p import errors\nfrom q import thing\n")
    assert _sibling_modules(tree, {"p", "p.errors", "q", "q.other"}) == {"p"}
