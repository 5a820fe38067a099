"""A backtest that fails mid-run, or that Ctrl-C stops, is closed as a finished one is: the gate's statistics
are saved in the run's store (a backtest saves them only at the end) and the LLM client's connections are
closed (the real anthropic SDK against the local Messages-API server, which counts the open connections).
A close that fails after the failure does not take its place: it is a note on the original error."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.anthropic_backend import AnthropicBackend
from backtests.data import BacktestData, select_data
from backtests.interrupt import STOP_GRACE_S, Interrupted, StopSwitch, run_interruptibly
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from benchmarks.llmsim import MessagesServer, hang, tool_use
from core.ports import AgentBackend, Clock
from core.settings import RiskSettings, load_settings
from core.types import Alert, DecisionRecord, DecisionRequest
from engine.engine import Engine
from engine.wiring import AgentChoice
from gate.persistence import STATE_KEY
from store.sqlite_store import SqliteStore
from tests.agent.conftest import llm_settings
from tools.context import JournalSink, TradingDesk

SCHEDULE = ("schedule_next_check", {"seconds": 3_600, "wake_conditions": []})


class FailsOnSecondDecision:
    """The real anthropic backend decides once; the second decision is a bug in the agent."""

    name = "fails-on-second"

    def __init__(self, model: AnthropicBackend) -> None:
        self.model = model
        self.decisions = 0

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        self.decisions += 1
        if self.decisions > 1:
            raise RuntimeError("scripted agent failure on its second decision")
        return await self.model.decide(request)

    def drain_alerts(self) -> list[Alert]:
        return self.model.drain_alerts()

    async def aclose(self) -> None:
        await self.model.aclose()


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    srv = MessagesServer().start()
    yield srv
    srv.stop()


def week() -> BacktestData:
    return select_data(start=datetime(2025, 2, 1, tzinfo=UTC), end=datetime(2025, 2, 8, tzinfo=UTC))


def failing_agent(server: MessagesServer, made: list[FailsOnSecondDecision]) -> AgentChoice:
    """Kept in ``made``: the client is not closed by the garbage collector behind the test's back."""

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> AgentBackend:
        model = AnthropicBackend(llm=llm_settings(server), risk=RiskSettings(), desk=desk, journal=journal)
        made.append(FailsOnSecondDecision(model))
        return made[-1]

    return AgentChoice(factory=factory)


def gate_saved(run: Path) -> bool:
    store = SqliteStore(run / "store.sqlite3")
    try:
        return store.get(STATE_KEY) is not None
    finally:
        store.close()


def test_a_backtest_failing_mid_run_saves_the_gate_and_closes_the_client(
    tmp_path: Path, server: MessagesServer
) -> None:
    server.script(tool_use(SCHEDULE, text="Flat."))
    made: list[FailsOnSecondDecision] = []
    request = BacktestRequest(load_settings(None), week(), tmp_path / "run", failing_agent(server, made))
    with pytest.raises(RuntimeError, match="second decision") as failure:
        asyncio.run(run_backtest(request))
    assert made[0].decisions == 2 and len(server.message_requests()) == 1 and server.connections_opened >= 1
    assert server.wait_connections_closed(timeout=10), f"{server.connections_open} connection(s) left open"
    assert made[0].model.client.is_closed()
    assert gate_saved(tmp_path / "run"), "the gate's statistics were saved before the run was left"
    assert not getattr(failure.value, "__notes__", []), "nothing else failed"


def test_a_backtest_stopped_by_ctrl_c_saves_the_gate_and_closes_the_client(
    tmp_path: Path, server: MessagesServer
) -> None:
    server.script(tool_use(SCHEDULE, text="Flat."))
    settings = load_settings(None)
    settings = settings.model_copy(update={"llm": llm_settings(server)})
    request = BacktestRequest(settings, week(), tmp_path / "run")

    def start(progress: Callable[[int, int], None]) -> Coroutine[Any, Any, BacktestResult]:
        def ctrl_c_once_the_model_answered(done: int, total: int) -> None:
            if server.message_requests() and not switch.requested:
                os.kill(os.getpid(), signal.SIGINT)  # backtests.interrupt's handler: the next candle stops the run
            progress(done, total)

        return run_backtest(request, ctrl_c_once_the_model_answered)

    switch = StopSwitch()
    with pytest.raises(Interrupted) as stop:
        run_interruptibly(start, switch, None)
    assert 0 < stop.value.done < stop.value.total and not stop.value.forced
    assert len(server.message_requests()) == 1 and server.connections_opened >= 1
    assert server.wait_connections_closed(timeout=10), f"{server.connections_open} connection(s) left open"
    assert gate_saved(tmp_path / "run"), "the gate's statistics were saved before the run was left"


def test_a_backtest_cut_short_while_the_model_hangs_is_closed_too(tmp_path: Path, server: MessagesServer) -> None:
    """Ctrl-C while a decision waits on the model: after the grace the step is cancelled where it waits
    (``backtests.interrupt``), and the run is closed from that cancellation."""
    server.script(tool_use(SCHEDULE, text="Flat."), hang(3))
    settings = load_settings(None)
    request = BacktestRequest(settings.model_copy(update={"llm": llm_settings(server)}), week(), tmp_path / "run")

    def ctrl_c_once_the_model_hangs() -> None:
        deadline = time.monotonic() + 60
        while len(server.message_requests()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c_once_the_model_hangs, daemon=True).start()
    with pytest.raises(Interrupted) as stop:
        run_interruptibly(lambda progress: run_backtest(request, progress), StopSwitch(), None)
    assert stop.value.forced and len(server.message_requests()) == 2
    assert server.wait_connections_closed(timeout=20), f"{server.connections_open} connection(s) left open"
    assert gate_saved(tmp_path / "run"), "the gate's statistics were saved before the run was left"


def test_a_close_failing_after_a_failure_is_a_note_on_it_not_in_its_place(
    tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken_close(self: Engine) -> None:
        raise OSError("disk gone while saving the gate")

    monkeypatch.setattr(Engine, "close", broken_close)  # the one way to make a real engine's close fail here
    server.script(tool_use(SCHEDULE, text="Flat."))
    made: list[FailsOnSecondDecision] = []
    request = BacktestRequest(load_settings(None), week(), tmp_path / "run", failing_agent(server, made))
    with pytest.raises(RuntimeError, match="second decision") as failure:
        asyncio.run(run_backtest(request))
    assert failure.value.__notes__ == [
        "closing the engine after RuntimeError also failed: OSError: disk gone while saving the gate"
    ]
    assert failure.value.__notes__[0] in caplog.messages, "and logged: one line on a CLI's stderr"
    assert not gate_saved(tmp_path / "run")
    store = SqliteStore(tmp_path / "run" / "store.sqlite3")  # the store was still closed (its batch flushed)
    try:
        assert any(event.kind == "decision" for event in store.read_journal())
    finally:
        store.close()


def test_a_run_stopped_at_a_candle_boundary_is_not_cut_short_while_it_closes() -> None:
    """The grace timer is for a step that does not reach its boundary; once the run stops at one, its close
    may take longer than the grace (a loaded machine, a slow pool) and still finish."""
    closed: list[bool] = []

    async def replay(progress: Callable[[int, int], None]) -> int:
        try:
            for done in range(1, 100_001):
                end = time.perf_counter() + 0.005
                while time.perf_counter() < end:
                    pass
                progress(done, 100_000)
        finally:
            await asyncio.sleep(STOP_GRACE_S + 1)  # a close slower than the grace
            closed.append(True)
        return 100_000

    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(Interrupted) as stop:
        run_interruptibly(replay, StopSwitch(), None)
    assert not stop.value.forced and 0 < stop.value.done < 100_000
    assert closed == [True], "the close ran to its end"
