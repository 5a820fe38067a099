"""``tradewake --help`` and ``tradewake version`` start without the heavy libraries (issue 18, part 3).

Mounting the commands used to import ccxt, scipy, matplotlib and pandas: 3.4 s of CPU before the help
text appeared. Each command module now imports those where they are used. This test is the guard, and
it asserts *what* is imported, never how long it took (the time is measured by ``python -m benchmarks
cli`` against a bare interpreter in the same run): a fresh interpreter runs the real entry point and
reports the top-level packages in ``sys.modules``; on failure the message names the import chain
(from ``-X importtime``) that pulled each heavy package in, so the fix is obvious.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
from pydantic import BaseModel

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
code = 0
try:
    main({argv!r})
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, sorted(sys.modules)]), file=sys.__stdout__)
"""


def start(argv: list[str]) -> tuple[set[str], str]:
    """Run the CLI in a fresh interpreter; return the modules it imported and its import log."""
    _, modules, log = run_probe(argv)
    return modules, log


def run_probe(argv: list[str]) -> tuple[object, set[str], str]:
    """Run the CLI in a fresh interpreter; return its exit code, the modules it imported and its import log."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _PROBE.format(argv=argv)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY" and not k.startswith("TRADEWAKE_")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return code, set(modules), done.stderr


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def import_chains(log: str, packages: set[str]) -> list[str]:
    """``pandas <- market.candles <- market.cache <- market.cli`` for the first import of each package (or module).

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
        top = name if name in packages else name.split(".")[0]  # a module named itself, or its package
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


@pytest.mark.parametrize(
    "argv", [["--help"], ["version"], ["backtest", "--help"], ["data", "--help"], ["holdings", "propose", "--help"]]
)
def test_starting_the_cli_imports_no_heavy_library(argv: list[str]) -> None:
    modules, log = start(argv)
    imported = top_level(modules)
    assert "engine" in imported and "typer" in imported, "the probe did not run the CLI"
    heavy = imported & HEAVY
    assert not heavy, "imported at start-up (move these imports into the command that needs them):\n" + "\n".join(
        import_chains(log, heavy)
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["backtest", "--data", "no-such-candles.csv"], "data file not found"),
        (["backtest", "--from", "yesterday"], "--from"),
        (["backtest", "--agent", "oracle"], "--agent must be one of"),
        (["backtest", "--timeframe", "7q"], "unknown timeframe"),
        (["backtest", "--symbol", "zzz"], "--symbol"),
        (["backtest", "--symbol", "DOGE/USDT", "--timeframe", "1h", "--cache-dir", "no-such-dir"], "no candles for"),
        (["backtest", "--symbol", "DOGE/USDT"], "--symbol and --timeframe go together"),
        (["backtest", "--fees", "99"], "fee_pct"),
        (["backtest", "--agent", "anthropic"], "has no key"),
    ],
)
def test_a_refused_backtest_refuses_before_loading_the_heavy_libraries(argv: list[str], says: str) -> None:
    """Every argument is checked before the data readers, the engine, ccxt and matplotlib load (about 2 s)."""
    code, modules, log = run_probe(argv)
    assert code == 2, f"not refused as a user mistake: exit {code}"
    assert says in log, log[-2000:]
    heavy = top_level(modules) & HEAVY
    assert not heavy, "imported before the backtest refused:\n" + "\n".join(import_chains(log, heavy))


HOLDINGS_AT_START = frozenset({"holdings", "holdings.entry_source"})
"""What mounting the holdings commands may load: ``--entry``'s choices. The commands' argument models, the
proposal and the records are pydantic models built on import: the command that submits loads them."""


@pytest.mark.parametrize("argv", [["--help"], ["holdings", "--help"], ["holdings", "propose", "--help"]])
def test_mounting_the_holdings_commands_builds_none_of_their_models(argv: list[str]) -> None:
    imported, log = start(argv)
    assert "engine.holdings_cli" in imported, "the probe did not mount the holdings commands"
    loaded = {name for name in imported if name.split(".")[0] == "holdings"} - HOLDINGS_AT_START
    assert not loaded, "imported at start-up:\n" + "\n".join(import_chains(log, loaded))


OURS = frozenset({"core", "store", "market", "exchange", "gate", "tools", "agent", "prompts", "safety", "learning",
                  "engine", "backtests", "dashboard", "venue", "holdings"})


def defines_models(module_name: str) -> bool:
    """Whether importing ``module_name`` builds a pydantic model (a class it defines)."""
    module = importlib.import_module(module_name)
    return any(
        isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module_name
        for value in vars(module).values()
    )


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["halt", "--help"], ["status", "--help"], ["exchange", "--help"], ["exchange", "check", "--help"]],
)
def test_mounting_the_commands_builds_none_of_our_models(argv: list[str]) -> None:
    """Building a pydantic model costs milliseconds each (the ports, the controls and the settings: about 0.1 s
    together): a command builds the models it uses when it runs, --help builds none."""
    imported, log = start(argv)
    assert {"safety.cli", "engine.exchange_cli"} <= imported, "the probe did not mount the commands"
    with_models = {name for name in imported if name.split(".")[0] in OURS and defines_models(name)}
    assert not with_models, "imported at start-up:\n" + "\n".join(import_chains(log, with_models))


def test_the_chain_finder_names_the_importers() -> None:
    log = "\n".join([
        "import time: self [us] | cumulative | imported package",
        "import time:        10 |         10 |       numpy.version",
        "import time:        10 |         20 |     numpy",
        "import time:        10 |         30 |   market.candles",
        "import time:        10 |         40 | market.cli",
    ])
    assert import_chains(log, {"numpy"}) == ["numpy.version <- numpy <- market.candles <- market.cli"]
