"""Where package sub-commands are mounted on the ``tradewake`` app: one line per package."""

from __future__ import annotations

import typer


def mount(app: typer.Typer) -> None:
    """Add every package's commands. Keep one import and one ``add_typer``/``command`` per line."""
    from market.cli import app as market_app
    from market.cli import snapshot_cmd

    app.add_typer(market_app, name="data")
    app.command("snapshot")(snapshot_cmd)
