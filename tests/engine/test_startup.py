"""``engine.startup``: a start's phases, wall and CPU seconds each, counted from the process start."""

from __future__ import annotations

import time

from engine.startup import StartupTrace, process_age_s


def test_the_process_age_counts_the_interpreter_start_too() -> None:
    age = process_age_s()
    assert age > 0.0  # /proc says when this process (pytest) started, well before this test
    time.sleep(0.02)
    assert process_age_s() >= age + 0.01


def test_phases_follow_each_other_from_the_process_start() -> None:
    trace = StartupTrace()
    first = trace.mark("imports")
    sum(range(200_000))  # some CPU
    time.sleep(0.05)  # and some waiting
    second = trace.mark("reconcile and protect")
    assert first.at_s > 0.0 and abs(first.wall_s - first.at_s) < 1e-9  # the first phase began with the process
    assert second.wall_s >= 0.05 and second.cpu_s < second.wall_s
    assert abs(second.at_s - first.at_s - second.wall_s) < 1e-9
    assert trace.at_s("reconcile and protect") == second.at_s and trace.at_s("agent") is None
    names = [phase["name"] for phase in trace.as_json()["phases"]]  # type: ignore[union-attr]
    assert names == ["imports", "reconcile and protect"]
