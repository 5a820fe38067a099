"""Where package sub-commands are mounted on the ``tradewake`` app: one line per package."""

from __future__ import annotations

import typer


def mount(app: typer.Typer) -> None:
    """Add every package's commands. Keep one import and one ``add_typer``/``command`` per line."""
    from gate.cli import gate_report
    from learning.cli import app as learner_app

    app.add_typer(learner_app, name="learner")
    app.command("gate-report")(gate_report)
