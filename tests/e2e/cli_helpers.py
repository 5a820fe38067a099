"""Run the real ``tradewake`` CLI in a subprocess, the way a user does (or its entry point in this process, for a
mistake refused before anything runs)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m engine.cli ARGS`` with the repo on the path and a clean TRADEWAKE_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWAKE_")}
    base["PYTHONPATH"] = str(REPO_ROOT)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def run_cli_here(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI's entry point in this process, for a mistake refused before anything runs: the same one line on
    stderr and exit code as :func:`run_cli`, without a fresh interpreter (2-3 s of imports each). The start-up
    itself is ``tests/engine/test_cli_startup.py``'s; what runs goes through :func:`run_cli`."""
    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("TRADEWAKE_")}
    code: int
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exited:
                code = exited.code if isinstance(exited.code, int) else int(exited.code is not None)
    finally:
        os.environ.update(saved)
    return subprocess.CompletedProcess(["tradewake", *args], code, out.getvalue(), err.getvalue())
