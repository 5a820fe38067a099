"""Ctrl-C stops a backtest within a second: at the next candle boundary when the step is quick, or cut
short when a step runs on (a CPU-bound refit, an LLM call waiting on the network); then, through the
real CLI, the decisions made so far are kept in a run marked interrupted and the exit code is 130.

The time bounds are loose (the machine may be shared): each is far below what the run would take if
Ctrl-C were not handled (the old behaviour ran to the end), which is what they tell apart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from backtests.interrupt import Interrupted, StopSwitch, run_interruptibly
from store.sqlite_store import SqliteStore
from tests.robustness.runner import Sandbox, base_env


def ctrl_c_after(seconds: float) -> None:
    def send() -> None:
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=send, daemon=True).start()


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def replay(candles: int, step: Callable[[], object]) -> Callable[[Callable[[int, int], None]], object]:
    async def run(progress: Callable[[int, int], None]) -> int:
        for done in range(1, candles + 1):
            result = step()
            if asyncio.iscoroutine(result):
                await result
            progress(done, candles)
        return candles

    return run  # type: ignore[return-value]


def stopped(run: Callable[[Callable[[int, int], None]], object], after: float) -> tuple[Interrupted, float]:
    ctrl_c_after(after)
    started = time.monotonic()
    with pytest.raises(Interrupted) as caught:
        run_interruptibly(run, StopSwitch(), None)  # type: ignore[arg-type]
    return caught.value, time.monotonic() - started - after


def test_a_quick_replay_stops_at_the_next_candle_and_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    stop, late = stopped(replay(100_000, lambda: busy(0.01)), after=0.3)
    assert 0 < stop.done < 100_000 and stop.total == 100_000 and not stop.forced
    assert late < 5, f"took {late:.1f}s after Ctrl-C (the replay alone takes 1000 s)"
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_long_cpu_bound_step_is_cut_short_within_a_second() -> None:
    stop, late = stopped(replay(3, lambda: busy(30)), after=0.2)
    assert stop.forced and stop.done == 0
    assert late < 10, f"took {late:.1f}s after Ctrl-C (the step alone takes 30 s; about 1 s when not loaded)"


def test_a_step_waiting_on_io_is_cut_short_within_a_second() -> None:
    stop, late = stopped(replay(3, lambda: asyncio.sleep(30)), after=0.2)
    assert stop.forced
    assert late < 10, f"took {late:.1f}s after Ctrl-C (the step alone takes 30 s; about 1 s when not loaded)"


def test_a_run_that_finishes_is_not_disturbed() -> None:
    assert run_interruptibly(replay(5, lambda: None), StopSwitch(), None) == 5  # type: ignore[arg-type]


def test_ctrl_c_through_the_cli_keeps_the_decisions_and_says_so(tmp_path: Path) -> None:
    sandbox = Sandbox.make(tmp_path)
    runs = sandbox.work / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "backtest", "--quiet", "--from", "2023-03-01"],
        cwd=sandbox.work, env=base_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_decisions(runs, process)
        os.kill(process.pid, signal.SIGINT)
        asked = time.monotonic()
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    took = time.monotonic() - asked
    assert process.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted after ") and "INTERRUPTED.json" in lines[0], err
    assert took < 15, f"the process took {took:.1f}s to stop (the whole window takes minutes)"
    (kept,) = [p for p in runs.iterdir()]
    facts = json.loads((kept / "INTERRUPTED.json").read_text())
    assert 0 < facts["candles_done"] < facts["candles_total"] and not (kept / "metrics.json").exists()
    store = SqliteStore(kept / "store.sqlite3")
    try:
        assert any(event.kind == "decision" for event in store.read_journal())
        assert store.verify_journal().ok
    finally:
        store.close()


def _wait_for_decisions(runs: Path, process: subprocess.Popen[str]) -> None:
    """Until the run's store holds a decision (the replay is under way), at most 5 minutes."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        for store_path in runs.glob(".*.partial-*/store.sqlite3") if runs.is_dir() else []:
            if _has_decision(store_path):
                return
        time.sleep(0.5)
    raise AssertionError("the backtest never reached its first decision")


def _has_decision(path: Path) -> bool:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM journal WHERE kind = 'decision'").fetchone()[0] > 0
    except sqlite3.Error:
        return False
