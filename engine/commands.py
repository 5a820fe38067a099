"""Where package sub-commands are mounted on the ``tradewake`` app: one line per package."""

from __future__ import annotations

import typer


def mount(app: typer.Typer) -> None:
    """Add every package's commands. Keep one import and one ``add_typer``/``command`` per line."""
    from exchange.cli import app as exchange_app

    app.add_typer(exchange_app, name="exchange")
