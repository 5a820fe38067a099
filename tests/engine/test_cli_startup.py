"""``tradewake --help`` and ``tradewake version`` start without the heavy libraries (issue 18, part 3).

Mounting the commands used to import ccxt, scipy, matplotlib and pandas: 3.4 s of CPU before the help
text appeared. Each command module now imports those where they are used. This test is the guard, and
it asserts *what* is imported, never how long it took (the time is measured by ``python -m benchmarks
cli`` against a bare interpreter in the same run): a fresh interpreter runs the real entry point and
reports the top-level packages in ``sys.modules``; on failure the message names the import chain
(from ``-X importtime``) that pulled each heavy package in, so the fix is obvious.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.cli_helpers import REPO_ROOT

HEAVY = frozenset({
    "aiohttp", "anthropic", "backtesting", "ccxt", "claude_agent_sdk", "hmmlearn", "httpx", "httpx2",
    "matplotlib", "numpy", "pandas", "PIL", "pydantic_settings", "redis", "scipy", "sklearn",
})
"""Packages a help text or the version never needs. ``pydantic_settings`` stands for our settings tree
(about 0.2 s with pydantic). pydantic itself is allowed: typer (0.29) builds its parameter converters
with it as soon as a command with options is formatted."""

_PROBE = """
import json, sys
from engine.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})), file=sys.__stdout__)
"""


def start(argv: list[str]) -> tuple[set[str], str]:
    """Run the CLI in a fresh interpreter; return the top-level packages it imported and its import log."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _PROBE.format(argv=argv)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1])), done.stderr


def import_chains(log: str, packages: set[str]) -> list[str]:
    """``pandas <- market.candles <- market.cache <- market.cli`` for the first import of each package.

    ``-X importtime`` prints a module after everything it imported, indented by depth, so a module's
    importers are the next lines with smaller indents.
    """
    rows = []
    for line in log.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2 or "self [us]" in line:
            continue
        name = line.split("|")[2]
        rows.append(((len(name) - len(name.lstrip(" "))) // 2, name.strip()))
    chains, seen = [], set()
    for index, (depth, name) in enumerate(rows):
        top = name.split(".")[0]
        if top not in packages or top in seen:
            continue
        seen.add(top)
        chain, want = [name], depth - 1
        for other_depth, other in rows[index + 1 :]:
            if want < 0:
                break
            if other_depth == want:
                chain.append(other)
                want -= 1
        chains.append(" <- ".join(chain))
    return chains


@pytest.mark.parametrize("argv", [["--help"], ["version"], ["backtest", "--help"], ["data", "--help"]])
def test_starting_the_cli_imports_no_heavy_library(argv: list[str]) -> None:
    imported, log = start(argv)
    assert "engine" in imported and "typer" in imported, "the probe did not run the CLI"
    heavy = imported & HEAVY
    assert not heavy, "imported at start-up (move these imports into the command that needs them):\n" + "\n".join(
        import_chains(log, heavy)
    )


def test_the_chain_finder_names_the_importers() -> None:
    log = "\n".join([
        "import time: self [us] | cumulative | imported package",
        "import time:        10 |         10 |       numpy.version",
        "import time:        10 |         20 |     numpy",
        "import time:        10 |         30 |   market.candles",
        "import time:        10 |         40 | market.cli",
    ])
    assert import_chains(log, {"numpy"}) == ["numpy.version <- numpy <- market.candles <- market.cli"]
