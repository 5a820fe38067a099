"""``tradewake dashboard`` as a user runs it: mistakes are one line and exit 2; it serves, prints the login URL
with its token, and stops on Ctrl-C within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.cli_helpers import REPO_ROOT, run_cli
from tests.redis_server import free_port


def test_mistakes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    bad_host = run_cli("dashboard", "--host", "not an address", cwd=tmp_path)
    assert bad_host.returncode == 2 and bad_host.stderr.count("\n") == 1 and "--host" in bad_host.stderr
    short = run_cli("dashboard", cwd=tmp_path, env={"TRADEWAKE_DASHBOARD_TOKEN": "short"})
    assert short.returncode == 2 and "at least 16 characters" in short.stderr and "Traceback" not in short.stderr


_STARTED_WITH_SIGINT = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_{}); os.execv(sys.argv[1], sys.argv[1:])"
"""Start the command with SIGINT at its default, or ignored as a shell's background job (``&`` without job
control, as some CI runners start the suite) inherits it: Ctrl-C must exit 130 either way."""


@pytest.mark.parametrize("inherited", ["DFL", "IGN"])
def test_it_serves_prints_the_login_url_and_stops_on_ctrl_c(tmp_path: Path, inherited: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWAKE_")} | {"PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", "engine.cli", "dashboard", "--port", str(port)]
    process = subprocess.Popen([sys.executable, "-c", _STARTED_WITH_SIGINT.format(inherited), *argv], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        # The URLs are printed once the server listens: reading them is the event to wait on (no polling, no
        # deadline that a loaded machine could miss); the timeouts below only stop a hung test.
        lines = [process.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        assert f"http://localhost:{port}/" in lines[0]
        assert "/login?token=" in lines[1] and len(lines[1].split("token=")[1].strip()) >= 16
        assert lines[2] == "Ctrl-C stops it.\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/runs", timeout=60) as response:
            assert "No runs yet" in response.read().decode()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130, "stopped by Ctrl-C, like every command"
        stderr = process.stderr.read()  # type: ignore[union-attr]
        assert "Traceback" not in stderr and stderr.count("\n") <= 1, stderr
        assert not (tmp_path / "var").exists(), "looking at the live view never creates a store"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
