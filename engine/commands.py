"""Where package sub-commands are mounted on the ``tradewake`` app: one line per package."""

from __future__ import annotations

import typer


def mount(app: typer.Typer) -> None:
    """Add every package's commands. Keep one import and one ``add_typer``/``command`` per line."""
    del app  # packages add their lines below as they land
