"""``Engine.step`` in the order DESIGN.md gives: commands -> safety guard -> gate -> agent -> learner ->
journal, on real candles (BTC/USDT 1h, 2024 Q1), the simulated exchange and a SQLite store. Operator
commands arrive as a ``CommandsPending`` event (the live loop emits it; a backtest never does)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from core.ports import OperatorCommand
from core.settings import load_settings
from core.timeframes import timeframe_seconds
from core.types import Alert, WakeKind, WakeReason
from engine.events import CandleClosed
from tests.engine.helpers import build_world, entry

# Candle 30 of 2024 Q1 closes near 42,300; candle 31 opens there. A stop 1 % below is hit within days.
ENTER_AT = 30


def test_a_position_gets_a_live_stop_and_its_stop_out_is_finalized_before_the_agent_is_asked(tmp_path: Path) -> None:
    world = build_world(tmp_path / "s.sqlite3", {})
    close = world.candles[ENTER_AT].close
    world.agent.script[ENTER_AT] = [entry(stop=round(close * 0.99, 2))]  # type: ignore[union-attr]
    reports = asyncio.run(world.run(0, 400))
    closed = [(i, t) for i, r in enumerate(reports) for t in r.closed]
    assert len(closed) == 1
    step, trade = closed[0]
    assert trade.exit_reason.value == "stop_loss"
    assert reports[step].decision is not None, "every candle wakes the agent in this world"
    seen = dict(world.agent.seen)  # type: ignore[union-attr]
    assert seen[step]["positions"] == [], "the agent saw the book after the stop-out was finalized"
    assert seen[step - 1]["positions"], "and the open position before it"
    world.store.close()


def test_every_closed_trade_reaches_the_learner_exactly_once(tmp_path: Path) -> None:
    world = build_world(tmp_path / "l.sqlite3", {})
    for i in (30, 120, 260):
        world.agent.script[i] = [entry(stop=round(world.candles[i].close * 0.985, 2))]  # type: ignore[union-attr]
    reports = asyncio.run(world.run(0, 500))
    trades = [t for r in reports for t in r.closed]
    assert len(trades) >= 2
    assert len({t.position_id for t in trades}) == len(trades)
    updates = [e for e in world.store.read_journal() if e.kind == "learner_update"]
    assert sorted(e.payload["position_id"] for e in updates) == sorted(t.position_id for t in trades)
    world.store.close()


def test_a_halt_blocks_the_agent_and_a_resume_lets_it_decide_again(tmp_path: Path) -> None:
    world = build_world(tmp_path / "h.sqlite3", {})
    world.store.submit_command(OperatorCommand(kind="halt", args={"reason": "test"}, idempotency_key="h1",
                                               submitted_by="test", submitted_at=world.candles[0].open_at))
    assert asyncio.run(world.commands()).commands == 1
    assert world.store.pending_commands() == []
    halted = asyncio.run(world.run(0, 5))
    assert all(r.decision is None and r.blocked and "halted" in r.blocked for r in halted)
    world.store.submit_command(OperatorCommand(kind="resume", args={}, idempotency_key="r1", submitted_by="test",
                                               submitted_at=world.candles[5].open_at))
    assert asyncio.run(world.commands()).commands == 1
    resumed = asyncio.run(world.run(5, 8))
    assert all(r.decision is not None for r in resumed)
    kinds = [e.kind for e in world.store.read_journal()]
    assert kinds.count("wake.blocked") == 5
    world.store.close()


def test_a_poison_command_never_crash_loops_the_engine_and_the_halt_behind_it_applies(tmp_path: Path) -> None:
    """Issue 22: ``sleep --minutes 9999999999`` raised OverflowError in every step and every restart, so a later
    halt never applied. Now it is failed (journaled, alerted) and the halt behind it holds across a restart."""
    path = tmp_path / "p.sqlite3"
    first = build_world(path, {})
    at = first.candles[0].open_at
    for key, kind, args in (("s1", "sleep", {"minutes": 9_999_999_999, "reason": "x"}),
                            ("h1", "halt", {"reason": "stop everything"})):
        first.store.submit_command(OperatorCommand(kind=kind, args=args, idempotency_key=key, submitted_at=at))
    assert asyncio.run(first.commands()).commands == 2
    assert first.store.pending_commands() == []
    assert [e.payload["command"]["idempotency_key"] for e in first.store.read_journal()
            if e.kind == "command.failed"] == ["s1"]  # fmt: skip
    asyncio.run(first.engine.close())
    first.store.close()

    second = build_world(path, {}, parts=first.parts)
    assert second.store.pending_commands() == [], "nothing is met again after a restart (the live loop steps none)"
    reports = asyncio.run(second.run(0, 3))
    assert all(r.decision is None and r.blocked and "stop everything" in r.blocked for r in reports)
    second.store.close()


def test_a_restart_continues_from_the_saved_state(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    first = build_world(path, {})
    first.agent.script[30] = [entry(stop=round(first.candles[30].close * 0.97, 2))]  # type: ignore[union-attr]
    asyncio.run(first.run(0, 40))
    asyncio.run(first.engine.close())
    open_before = [p.id for p in first.engine.safety.positions()]
    next_check = first.engine.gate.next_check_at
    first.store.close()
    assert open_before, "a position is open across the restart"

    second = build_world(path, {}, parts=first.parts)
    assert [p.id for p in second.engine.safety.positions()] == open_before
    assert second.engine.gate.next_check_at == next_check
    reports = asyncio.run(second.run(40, 400))
    trades = [t for r in reports for t in r.closed]
    assert [t.position_id for t in trades] == open_before, "closed once, after the restart"
    second.store.close()


def test_repeated_vetoes_raise_one_alert_for_a_human(tmp_path: Path) -> None:
    world = build_world(tmp_path / "v.sqlite3", {})
    for i in (10, 11, 12, 13):  # a stop above a long entry: refused every time
        world.agent.script[i] = [entry(stop=round(world.candles[i].close * 1.05, 2))]  # type: ignore[union-attr]
    reports = asyncio.run(world.run(0, 15))
    codes = [c.veto.code for r in reports if r.decision for c in r.decision.tool_calls if c.veto]
    assert codes == ["stop_wrong_side"] * 4
    alerts = [e.payload["alert"] for e in world.store.read_journal() if e.kind == "alert.raised"]
    repeated = [a for a in alerts if a["kind"] == "repeated_vetoes"]
    assert len(repeated) == 1 and "3 consecutive vetoes, last: stop_wrong_side" in repeated[0]["message"]
    world.store.close()


def test_what_the_agent_has_for_a_human_is_sent_through_the_port(tmp_path: Path) -> None:
    """``drain_alerts`` is part of the agent port: any backend's alerts are sent, not only the router's."""
    world = build_world(tmp_path / "a.sqlite3", {})
    at = world.candles[0].open_at
    world.agent.alerts.append(  # type: ignore[union-attr]
        Alert(severity="warning", kind="llm_breaker", message="LLM breaker closed -> open: 3 failures", at=at))
    asyncio.run(world.run(0, 2))
    sent = [e.payload["alert"]["message"] for e in world.store.read_journal() if e.kind == "alert.raised"]
    assert sent == ["LLM breaker closed -> open: 3 failures"]
    world.store.close()


def test_an_operator_wake_asks_the_agent_after_safety_whatever_the_gate_says(tmp_path: Path) -> None:
    world = build_world(tmp_path / "o.sqlite3", {}, settings=load_settings(None))  # the default, quieter gate
    candle = world.candles[3]
    close_at = candle.open_at + timedelta(seconds=timeframe_seconds(candle.timeframe))
    world.parts.clock.advance_to(close_at)
    wake = WakeReason(kind=WakeKind.OPERATOR, detail="asked", at=close_at, symbol=candle.symbol)
    report = asyncio.run(world.engine.step(CandleClosed(at=close_at, candle=candle), wake=wake))
    assert report.wake == wake and report.decision is not None and report.decision.wake == wake
    assert [c.name for c in report.decision.tool_calls] == ["get_portfolio"]


def test_a_replay_never_reads_the_command_queue(tmp_path: Path) -> None:
    """Commands reach the engine as events; stepping candles applies none (and asks the store for none)."""
    world = build_world(tmp_path / "q.sqlite3", {})
    world.store.submit_command(OperatorCommand(kind="halt", args={"reason": "test"}, idempotency_key="h1",
                                               submitted_by="test", submitted_at=world.candles[0].open_at))
    asked = []
    pending = world.store.pending_commands
    world.store.pending_commands = lambda: asked.append(1) or pending()  # type: ignore[method-assign]
    reports = asyncio.run(world.run(0, 5))
    assert asked == [] and all(r.commands == 0 and r.decision is not None for r in reports)
    world.store.close()
