"""Where package sub-commands are mounted on the ``tradewake`` app.

Each package keeps its commands in its own ``cli.py``; this table is the only place that lists
them, one row per group or command, imported when the CLI starts.
"""

from __future__ import annotations

import importlib

import typer

# (module, attribute holding a typer.Typer, group name)
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("learning.cli", "app", "learner"),
    ("market.cli", "app", "data"),
    ("engine.exchange_cli", "app", "exchange"),
    ("backtests.inspect_cli", "runs_app", "runs"),
    ("venue.cli", "app", "venue"),
    ("engine.holdings_cli", "app", "holdings"),
)

# (module, attribute holding a command function, group name, command name): a command of a group above
# that lives outside the group's module (it joins packages the group's own package may not import)
GROUP_COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("engine.markets_cli", "markets_cmd", "data", "markets"),
)

# (module, attribute holding a command function, command name)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("market.cli", "snapshot_cmd", "snapshot"),
    ("engine.decide_cli", "decide_cmd", "decide"),
    ("safety.cli", "halt_cmd", "halt"),
    ("safety.cli", "resume_cmd", "resume"),
    ("safety.cli", "sleep_cmd", "sleep"),
    ("safety.cli", "status_cmd", "status"),
    ("engine.gate_cli", "gate_report", "gate-report"),
    ("backtests.cli", "backtest_cmd", "backtest"),
    ("backtests.inspect_cli", "decisions_cmd", "decisions"),
    ("backtests.inspect_cli", "memory_cmd", "memory"),
    ("engine.live_cli", "run_cmd", "run"),
    ("dashboard.cli", "dashboard_cmd", "dashboard"),
)


def mount(app: typer.Typer) -> None:
    """Add every package's commands to ``app``."""
    groups: dict[str, typer.Typer] = {}
    for module, attribute, name in GROUPS:
        groups[name] = getattr(importlib.import_module(module), attribute)
        app.add_typer(groups[name], name=name)
    for module, attribute, group, name in GROUP_COMMANDS:
        groups[group].command(name)(getattr(importlib.import_module(module), attribute))
    for module, attribute, name in COMMANDS:
        app.command(name)(getattr(importlib.import_module(module), attribute))
