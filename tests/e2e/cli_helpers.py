"""Run the real ``tradewake`` CLI in a subprocess, the way a user does."""

from __future__ import annotations

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
