"""``tradewake dashboard`` as a user runs it: mistakes are one line and exit 2; it serves, prints the login URL
with its token, and stops on Ctrl-C within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.e2e.cli_helpers import REPO_ROOT, run_cli
from tests.redis_server import free_port


def test_mistakes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    bad_host = run_cli("dashboard", "--host", "not an address", cwd=tmp_path)
    assert bad_host.returncode == 2 and bad_host.stderr.count("\n") == 1 and "--host" in bad_host.stderr
    short = run_cli("dashboard", cwd=tmp_path, env={"TRADEWAKE_DASHBOARD_TOKEN": "short"})
    assert short.returncode == 2 and "at least 16 characters" in short.stderr and "Traceback" not in short.stderr


def test_it_serves_prints_the_login_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWAKE_")} | {"PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "dashboard", "--port", str(port)], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        lines = [process.stdout.readline() for _ in range(2)]  # type: ignore[union-attr]
        assert f"http://localhost:{port}/" in lines[0]
        assert "/login?token=" in lines[1] and len(lines[1].split("token=")[1].strip()) >= 16
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/runs", timeout=5) as response:
                    assert "No runs yet" in response.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not answer"
                time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130, "stopped by Ctrl-C, like every command"
        stderr = process.stderr.read()  # type: ignore[union-attr]
        assert "Traceback" not in stderr and stderr.count("\n") <= 1, stderr
        assert not (tmp_path / "var").exists(), "looking at the live view never creates a store"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
