"""A warmed-up ``tradewake`` that forks one fresh process per CLI invocation.

Starting ``python -m engine.cli`` costs seconds of imports (pandas, matplotlib, ccxt, anthropic ...), so
a corpus of hundreds of invocations would take far too long for ``make test``. This server imports the
CLI once, then for every request forks: the child gets the request's working directory, environment,
argv and its own stdout/stderr files, runs the real entry point (``engine.cli.main``) exactly as the
console script does, and exits with its code. Each invocation is a separate process with fresh
state; only the imports are shared. An uncaught exception prints its traceback as the interpreter
would, so the corpus sees what a user would see. ``TRADEWAKE_LONG_TESTS=1`` runs the corpus through a
fresh interpreter per invocation instead (``tests/robustness/runner.py``).

Protocol: one JSON request per line on stdin (``argv``, ``cwd``, ``env``, ``stdout``, ``stderr``,
``timeout``), one JSON answer per line on stdout (``code``, ``seconds``, ``timed_out``).
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

PRELOAD = (
    "engine.cli", "engine.commands", "backtests.runner", "backtests.cli", "backtests.inspect_cli",
    "store.sqlite_store", "store.factory", "market.builder", "market.regime", "market.candles",
    "agent.factory", "agent.anthropic_backend", "engine.wiring", "engine.decide_cli", "engine.gate_cli",
    "safety.cli", "learning.cli", "market.cli", "engine.exchange_cli", "engine.live_cli", "engine.decide", "tools.snapshots",
    "backtests.report", "backtests.summary", "store.runs", "core.settings_toml", "matplotlib.pyplot",
)


def preload() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    for module in PRELOAD:
        importlib.import_module(module)
    import typer

    from engine import commands

    commands.mount(typer.Typer())  # imports every command module the way the CLI's start does


def serve() -> None:
    preload()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(run_one(request)), flush=True)


def run_one(request: dict[str, Any]) -> dict[str, Any]:
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child never returns
        _child(request)
    deadline = started + float(request.get("timeout", 120))
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"code": os.waitstatus_to_exitcode(status), "seconds": time.monotonic() - started,
                    "timed_out": False}
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"code": -9, "seconds": time.monotonic() - started, "timed_out": True}
        time.sleep(0.01)


def _child(request: dict[str, Any]) -> None:
    code = 1
    try:
        _redirect(request)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.argv = ["tradewake", *request["argv"]]
        from engine.cli import main

        code = _exit_code(main, request["argv"])
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                code = code or 1
        os._exit(code)


def _redirect(request: dict[str, Any]) -> None:
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def _exit_code(main: Any, argv: list[str]) -> int:
    """What the interpreter would exit with after ``main(argv)``, printing an uncaught exception as it would."""
    try:
        main(argv)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # what the interpreter does with an exception nobody caught
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    serve()
