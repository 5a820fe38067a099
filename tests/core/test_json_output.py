"""``--json`` output: the same text rich prints, written plainly off a terminal; and every command uses it.

``journal tail -n 20000 --json`` into a file took 15.5 s of CPU through rich's ``print_json`` and 1.0 s
plainly, byte-identical (13 MB; ``docs/performance.md``, "Mounting, refusals and --json").
"""

from __future__ import annotations

import ast
import io
import json

from rich.console import Console

from core.json_output import print_json
from tests.test_architecture import modules

EXAMPLE = {"kind": "decision", "payload": {"reason": "long " * 40, "price": "42000.10", "note": "équilibre"},
           "seq": 7, "ok": True, "ratio": 0.25, "none": None, "list": [1, [2, {}], []]}


def printed(console: Console, data: object) -> str:
    print_json(console, data)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_off_a_terminal_the_text_is_what_rich_prints_and_parses_back() -> None:
    plain = printed(Console(file=io.StringIO(), width=80), EXAMPLE)
    by_rich = Console(file=io.StringIO(), width=80)
    by_rich.print_json(data=EXAMPLE)
    assert plain == by_rich.file.getvalue()  # type: ignore[attr-defined]
    assert json.loads(plain) == EXAMPLE
    assert "\x1b[" not in plain and "équilibre" in plain


def test_at_a_terminal_the_json_is_colored() -> None:
    colored = printed(Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=80), EXAMPLE)
    assert "\x1b[" in colored


def test_no_command_prints_json_through_rich_directly() -> None:
    """A ``console.print_json(...)`` in a command highlights megabytes for a pipe: use :func:`print_json`."""
    direct = sorted(
        f"{path}:{node.lineno}"
        for path, tree in modules()
        if path != "core/json_output.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "print_json"
    )
    assert not direct, direct
