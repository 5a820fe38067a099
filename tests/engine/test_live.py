"""The live loop in paper mode over recorded real candles: the same engine, a simulated clock that the
loop's sleep advances, a real SQLite store, the rules agent. Only the exchange's HTTP is replaced, by a
kline source that answers from the bundled real 5m series exactly what had happened by the clock's now."""

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
from core.settings import load_settings
from engine.live_cli import build_live_loop
from market.bundled import BTC_5M, bundled_path
from market.candles import load_candles, open_ms
from market.derivatives import DerivativesReading
from store.sqlite_store import SqliteStore

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


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    frame = load_candles(bundled_path(BTC_5M))
    start = frame.index[2_100].to_pydatetime() + timedelta(seconds=30)
    clock = SimClock(start)
    source = RecordedKlines(frame, clock)
    store = SqliteStore(tmp_path / "live.sqlite3")
    settings = load_settings(None, mode="paper")

    async def sleep(seconds: float) -> None:
        clock.advance_by(seconds)

    loop = asyncio.run(build_live_loop(settings, "5m", clock, store, source, heartbeat=tmp_path / "heartbeat"))
    loop.sleep = sleep
    loop.poll_interval_s = 60
    yield loop, source, store, clock
    store.close()


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
    settings = load_settings(None, mode="paper")
    settings = settings.model_copy(update={"exchange": settings.exchange.model_copy(
        update={"market_type": "future", "symbols": ("BTC/USDT:USDT",)})})
    store = SqliteStore(tmp_path / "futures.sqlite3")
    loop = asyncio.run(build_live_loop(settings, "5m", clock, store, source, heartbeat=None))

    async def sleep(seconds: float) -> None:
        clock.advance_by(seconds)

    loop.sleep, loop.poll_interval_s = sleep, 60
    asyncio.run(loop.run(asyncio.Event(), max_rounds=30))
    assert loop.derivatives is not None
    assert 2 <= source.derivative_calls <= 10, "polled every 5 to 15 minutes, not every round"
    snapshot = loop.engine.market.snapshot(Symbol("BTC/USDT:USDT"), clock.now())
    assert snapshot.derivatives is not None and snapshot.derivatives.funding_rate == 0.0001
    store.close()
