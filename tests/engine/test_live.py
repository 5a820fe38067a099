"""The live loop in paper mode over recorded real candles, built by ``engine.wiring.build_run`` as ``tradewake run``
builds it: the same engine, a simulated clock that the loop's sleep advances, a real SQLite store (the configured
one), the rules agent. Only the exchange's HTTP is replaced, by a kline source that answers from the bundled real
5m series exactly what had happened by the clock's now."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.clock import SimClock
from core.errors import TemporaryError
from core.ids import Symbol
from core.ports import OperatorCommand
from core.settings import load_settings
from engine.runs import LiveFeed, Run
from engine.wiring import build_run
from market.bundled import BTC_5M, bundled_path
from market.candles import load_candles, open_ms
from market.derivatives import DerivativesReading

STEP_MS = 300_000


class RecordedKlines:
    """A ``KlineSource`` over real candles that never leaks the future: the forming candle is reported
    with its open as its last price (its later trades have not happened yet)."""

    def __init__(self, frame: pd.DataFrame, clock: SimClock) -> None:
        self.rows = np.column_stack([open_ms(frame).astype("float64"), frame.to_numpy(dtype="float64")])
        self.clock = clock
        self.fail_next = 0
        self.calls = 0

    async def fetch_klines(self, symbol: str, timeframe: str, since_ms: int, until_ms: int) -> list[list[float]]:
        self.calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise TemporaryError("recorded source: HTTP 503")
        now_ms = int(self.clock.now().timestamp() * 1000)
        chosen = self.rows[(self.rows[:, 0] >= since_ms) & (self.rows[:, 0] < min(until_ms, now_ms))][:1000]
        rows = [list(map(float, r)) for r in chosen]
        for row in rows:
            if row[0] + STEP_MS > now_ms:
                row[2] = row[3] = row[4] = row[1]
        return rows


def paper_settings(tmp_path: Path, **exchange: object):  # type: ignore[no-untyped-def]
    settings = load_settings(None, mode="paper", store={"url": f"sqlite:///{tmp_path / 'live.sqlite3'}"})
    return settings.model_copy(update={"exchange": settings.exchange.model_copy(update=exchange)})


def paper_run(settings, source: RecordedKlines, clock: SimClock, heartbeat: Path | None) -> Run:  # type: ignore[no-untyped-def]
    """``tradewake run``'s assembly over the recorded source; the loop's sleep advances the clock."""
    run = asyncio.run(build_run(settings, LiveFeed("5m", source=source, heartbeat=heartbeat, poll_interval_s=60), clock))

    async def sleep(seconds: float) -> None:
        clock.advance_by(seconds)

    run.feed.sleep = sleep
    return run


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    frame = load_candles(bundled_path(BTC_5M))
    start = frame.index[2_100].to_pydatetime() + timedelta(seconds=30)
    clock = SimClock(start)
    source = RecordedKlines(frame, clock)
    run = paper_run(paper_settings(tmp_path), source, clock, tmp_path / "heartbeat")
    yield run.feed, source, run.store, clock
    asyncio.run(run.close())


def test_the_loop_steps_every_closed_candle_and_ticks_safety_on_its_timer(world) -> None:  # type: ignore[no-untyped-def]
    loop, _, store, clock = world
    started, preloaded = clock.now(), len(loop.feeds[0].history)
    rounds = asyncio.run(loop.run(asyncio.Event(), max_rounds=60))
    assert rounds == 60
    elapsed_min = (clock.now() - started).total_seconds() / 60
    assert elapsed_min == 60
    history = loop.feeds[0].history
    assert history.index[-1].to_pydatetime() + timedelta(minutes=5) <= clock.now()
    assert len(history) - preloaded == 11, "the 11 candles that closed by the last poll were appended"
    assert loop.stepped["candle_closed"] == 11
    assert loop.stepped["timer_tick"] == 60, "polling every 60 s, the 30 s safety timer is due every round"
    assert loop.stepped["price_tick"] == 60, "every poll saw the forming candle's price"
    assert store.get("gate/state") is not None, "the gate's state is saved when the loop stops"


def test_a_failing_candle_poll_is_journaled_and_the_loop_goes_on(world) -> None:  # type: ignore[no-untyped-def]
    loop, source, store, _ = world
    preloaded = len(loop.feeds[0].history)
    source.fail_next = 2
    asyncio.run(loop.run(asyncio.Event(), max_rounds=6))
    errors = [e for e in store.read_journal() if e.kind == "feed.error"]
    assert len(errors) == 2
    assert "503" in errors[0].payload["error"]
    assert len(loop.feeds[0].history) == preloaded + 1, "the candle that closed meanwhile was fetched later"


def test_the_heartbeat_file_holds_the_last_round_time(world) -> None:  # type: ignore[no-untyped-def]
    loop, _, _, clock = world
    asyncio.run(loop.run(asyncio.Event(), max_rounds=3))
    assert loop.heartbeat is not None
    written = loop.heartbeat.read_text(encoding="utf-8").strip()
    assert written == (clock.now() - timedelta(seconds=60)).isoformat()


def test_a_silent_feed_forces_a_safety_first_wake_and_alerts_a_human(world) -> None:  # type: ignore[no-untyped-def]
    loop, source, store, _ = world
    source.fail_next = 100  # the exchange's market data stays down
    asyncio.run(loop.run(asyncio.Event(), max_rounds=8))
    alerts = [e.payload["alert"] for e in store.read_journal() if e.kind == "alert.raised"]
    assert [a["kind"] for a in alerts] == ["feed_stale"], "one alert per silence, after feed_stale_s (300 s)"
    wakes = [e for e in store.read_journal() if e.kind == "gate.wake" and "feed stale" in str(e.payload)]
    assert len(wakes) == 1


class RecordedDerivatives(RecordedKlines):
    """Futures: the same candles, plus funding and open interest readings stamped by the clock."""

    def __init__(self, frame: pd.DataFrame, clock: SimClock) -> None:
        super().__init__(frame, clock)
        self.derivative_calls = 0

    async def fetch_derivatives(self, symbol: str) -> DerivativesReading:
        self.derivative_calls += 1
        return DerivativesReading(symbol=Symbol(symbol), at=self.clock.now(), funding_rate=0.0001,
                                  open_interest=80_000.0 + self.derivative_calls)


def test_futures_poll_funding_on_their_own_schedule_and_snapshots_show_it(tmp_path: Path) -> None:
    frame = load_candles(bundled_path(BTC_5M))
    clock = SimClock(frame.index[2_100].to_pydatetime() + timedelta(seconds=30))
    source = RecordedDerivatives(frame, clock)
    settings = paper_settings(tmp_path, market_type="future", symbols=("BTC/USDT:USDT",))
    run = paper_run(settings, source, clock, None)
    loop = run.feed
    asyncio.run(loop.run(asyncio.Event(), max_rounds=30))
    assert loop.derivatives is not None
    assert 2 <= source.derivative_calls <= 10, "polled every 5 to 15 minutes, not every round"
    assert loop.stepped["derivatives_updated"] == source.derivative_calls, "every reading is an engine step"
    snapshot = loop.engine.market.snapshot(Symbol("BTC/USDT:USDT"), clock.now())
    assert snapshot.derivatives is not None and snapshot.derivatives.funding_rate == 0.0001
    asyncio.run(run.close())


def test_a_queued_halt_is_stepped_before_anything_else_and_blocks_the_next_candles_wake(tmp_path: Path) -> None:
    frame = load_candles(bundled_path(BTC_5M))
    clock = SimClock(frame.index[2_100].to_pydatetime() + timedelta(seconds=30))
    settings = paper_settings(tmp_path)
    settings = settings.model_copy(update={"gate": settings.gate.model_copy(
        update={"candle_close_timeframes": ("5m",), "cooldown_s": 0})})  # every candle close wakes the agent
    run = paper_run(settings, RecordedKlines(frame, clock), clock, None)
    loop = run.feed
    run.store.submit_command(OperatorCommand(kind="halt", args={"reason": "test"}, idempotency_key="h1",
                                             submitted_by="test", submitted_at=clock.now()))
    reports = []
    while not any(r.wake is not None and r.wake.kind.value == "candle_close" for r in reports):
        clock.advance_by(60)
        reports.extend(asyncio.run(loop.round()))
    assert reports[0].commands == 1, "the first step of the round applies the queue"
    assert loop.stepped["commands_pending"] == 1, "once: the queue is empty afterwards"
    woken = [r for r in reports if r.wake is not None]
    assert woken and all(r.decision is None and r.blocked and r.blocked.startswith("halted") for r in woken)
    asyncio.run(run.close())
