"""``--json`` output: colored for a person at a terminal, plain for a program reading a pipe or a file.

rich's ``print_json`` parses, highlights and lays out the text again: 10 s of CPU for a month of decisions
(6 MB), for colors a pipe never shows. Off a terminal the same text (two-space indent, non-ASCII kept) is
written as is. Every command's ``--json`` goes through :func:`print_json` (``tests/core/test_json_output.py``
checks it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def print_json(console: Console, data: object) -> None:
    """Write ``data`` (JSON-ready: dicts, lists, strings, numbers) as indented JSON on ``console``."""
    if console.is_terminal:
        console.print_json(data=data)
        return
    console.file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    console.file.flush()
