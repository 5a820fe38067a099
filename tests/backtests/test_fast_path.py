"""The skipping replay (the default) against the per-candle oracle (``--exact``): on real slices of real series,
spot and futures, with the rules agent, the SMA agent and a scripted agent that uses every tool and every kind of
wake condition, the two paths write byte-identical ``metrics.json``, ``trades.csv`` and ``bars.csv`` and the same
journal, event for event, but for the wakes the SMA agent's declaration lets the fast path decide in bulk as holds
(their ``decision`` and ``gate.wake`` events: ``held_wakes``).

``make test`` draws 6 random slices (3 portfolios); ``TRADEWAKE_LONG_TESTS=1`` draws 120 (40) (``make test-long``)."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtests.cli import _agent_choice, for_market
from backtests.data import BacktestData, select_data
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from backtests.scripted import SmaCrossAgent, SmaParams, sma_settings
from core.ports import Clock
from core.settings import Settings, load_settings
from engine.wiring import AgentChoice
from market.bundled import bundled_path
from market.candles import read_candles
from store.sqlite_store import SqliteStore
from tests.backtests.chaos import ChaosAgent
from tests.conftest import LONG_TESTS, SHARED_DATA
from tools.context import JournalSink, TradingDesk

EXAMPLES = 120 if LONG_TESTS else 6
pytestmark = pytest.mark.timeout(3600 if LONG_TESTS else 600)
OUTPUTS = ("metrics.json", "trades.csv", "bars.csv")


@dataclass(frozen=True)
class Series:
    path: Path
    symbol: str | None = None
    """Overrides the file's symbol (``BTC/USDT:USDT`` replays BTC candles as a USDT-M perpetual)."""


SERIES = (
    Series(bundled_path("binance_BTC-USDT_1h.csv.gz")),
    Series(bundled_path("binance_BTC-USDT_5m.csv.gz")),
    Series(bundled_path("binance_BTC-USDT_1h.csv.gz"), "BTC/USDT:USDT"),
    Series(SHARED_DATA / "binance_ETH-USDT_1h.csv"),
    Series(SHARED_DATA / "binance_ADA-BTC_1h.csv"),
    Series(SHARED_DATA / "binance_BTC-USDT_5m.csv.gz"),
)


@cache
def index_of(path: Path) -> pd.DatetimeIndex:
    frame, _ = read_candles(path, None)
    return frame.index


def slice_of(series: Series, offset: int, length: int) -> BacktestData:
    """``length`` candles after at least a warm-up's worth of history, ``offset`` into what is left."""
    index = index_of(series.path)
    length = min(length, len(index) - 289)
    first = 288 + offset % max(1, len(index) - 288 - length)
    start, end = index[first].to_pydatetime(), index[first + length].to_pydatetime()
    return select_data(data=series.path, symbol=series.symbol, start=start, end=end)


def request(data: BacktestData | list[BacktestData], agent: str, seed: int, out: Path, *,
            exact: bool) -> BacktestRequest:  # fmt: skip
    markets = data if isinstance(data, list) else [data]
    first, more = markets[0], tuple(markets[1:])
    base: Settings = for_market(load_settings(None), first.symbol)
    base = base.model_copy(update={"backtest": base.backtest.model_copy(update={"seed": seed})})
    futures = base.exchange.market_type == "future"
    if agent == "sma":
        return BacktestRequest(sma_settings(base, first.timeframe), first, out, _agent_choice("sma", markets, None),
                               exact=exact, more=more)  # fmt: skip
    if agent == "chaos":

        def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> ChaosAgent:
            return ChaosAgent(desk, journal, seed, futures)

        return BacktestRequest(base, first, out, AgentChoice(factory=factory), exact=exact, more=more)
    return BacktestRequest(base, first, out, exact=exact, more=more)


def journal(result: BacktestResult) -> list[tuple[str, str, object]]:
    store = SqliteStore(result.run.store_path, namespace="tw")
    try:
        return [(e.kind, e.at.isoformat(), e.payload) for e in store.read_journal()]
    finally:
        store.close()


Event = tuple[str, str, object]


def held_wakes(exact: list[Event], fast: list[Event]) -> int:
    """How many wakes the fast journal leaves out, having checked that it is the exact one without them: each a
    ``decision`` that called no tool and the gate's ``gate.wake`` of the same moment (the bulk holds of an agent
    that declares where it acts, ``engine.request.DeclaresActions``); every other event is there, in order."""
    kept, missing = iter(fast), []
    upcoming = next(kept, None)
    for event in exact:
        if event == upcoming:
            upcoming = next(kept, None)
        else:
            missing.append(event)
    assert upcoming is None, f"the fast journal has an event the exact one has not: {upcoming}"
    decisions = [(at, payload) for kind, at, payload in missing if kind == "decision"]
    wakes = sorted(at for kind, at, _ in missing if kind == "gate.wake")
    assert all(isinstance(p, dict) and p["tool_calls"] == [] for _, p in decisions), "a held decision called a tool"
    assert sorted(at for at, _ in decisions) == wakes, "held wakes and held decisions differ"
    assert len(decisions) + len(wakes) == len(missing), [e[0] for e in missing]
    return len(decisions)


def assert_same_run(data: BacktestData | list[BacktestData], agent: str, seed: int) -> tuple[BacktestResult, int]:
    """Both paths' outputs byte for byte and their journals; returns the exact run and the wakes held in bulk."""
    with tempfile.TemporaryDirectory() as tmp:
        exact = asyncio.run(run_backtest(request(data, agent, seed, Path(tmp) / "exact", exact=True)))
        fast = asyncio.run(run_backtest(request(data, agent, seed, Path(tmp) / "fast", exact=False)))
        for name in OUTPUTS:
            assert (fast.run.path / name).read_bytes() == (exact.run.path / name).read_bytes(), name
        held = held_wakes(journal(exact), journal(fast))
        assert held == 0 or agent == "sma", "only the SMA agent declares where it acts"
        if held:  # the report says why its decision list is shorter than the metrics' count
            assert f"{held:,} quiet wakes the backtest decided in bulk" in (fast.run.path / "report.html").read_text()
        if agent == "sma":
            assert_acts_where_declared(exact, data)
        return exact, held


def assert_acts_where_declared(exact: BacktestResult, data: BacktestData | list[BacktestData]) -> None:
    """Soundness of the declaration: every decision of the per-candle run that called a tool is at a declared
    candle (``SmaCrossAgent.acts_at``)."""
    markets = data if isinstance(data, list) else [data]
    frames = {m.symbol: m.candles for m in markets}
    agent = SmaCrossAgent(cast(TradingDesk, None), cast(JournalSink, None), frames, markets[0].timeframe, SmaParams())
    for kind, _, payload in journal(exact):
        if kind == "decision" and isinstance(payload, dict) and payload["tool_calls"]:
            at = pd.Timestamp(payload["as_of"]).as_unit("ns").value
            assert at in set(agent.acts_at(payload["symbol"]).tolist()), payload["as_of"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    series=st.sampled_from(SERIES),
    agent=st.sampled_from(["rules", "sma", "chaos", "chaos"]),
    offset=st.integers(0, 10**6),
    length=st.integers(60, 400),
    seed=st.integers(0, 1000),
)
def test_skipping_quiet_candles_changes_nothing_in_the_results(
    series: Series, agent: str, offset: int, length: int, seed: int
) -> None:
    assert_same_run(slice_of(series, offset, length), agent, seed)


PAIRS = (
    (Series(SHARED_DATA / "binance_BTC-USDT_1h.csv"), Series(SHARED_DATA / "binance_ETH-USDT_1h.csv")),
    (Series(SHARED_DATA / "binance_BTC-USDT_5m.csv.gz"), Series(SHARED_DATA / "binance_ETH-USDT_5m.csv.gz")),
)


def pair_of(pair: tuple[Series, Series], offset: int, length: int) -> list[BacktestData]:
    """Two markets over the same window (the first market's slice decides it)."""
    first = slice_of(pair[0], offset, length)
    end = first.end + (first.end - first.start) / max(1, len(first.candles) - 1)
    return [first, select_data(data=pair[1].path, start=first.start, end=end)]


@settings(max_examples=max(3, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=st.sampled_from(PAIRS),
    agent=st.sampled_from(["rules", "sma", "chaos", "chaos"]),
    offset=st.integers(0, 40_000),
    length=st.integers(60, 300),
    seed=st.integers(0, 1000),
)
def test_a_portfolio_skips_as_exactly(pair: tuple[Series, Series], agent: str, offset: int, length: int,
                                      seed: int) -> None:  # fmt: skip
    assert_same_run(pair_of(pair, offset, length), agent, seed)


@pytest.mark.parametrize(
    ("series", "agent", "seed"),
    [(SERIES[1], "chaos", 3), (SERIES[2], "chaos", 11), (SERIES[5], "rules", 7), (SERIES[5], "sma", 5),
     (SERIES[2], "sma", 2)],
    ids=["bundled-5m-chaos", "futures-1h-chaos", "real-5m-rules", "real-5m-sma", "futures-1h-sma"],
)
def test_a_longer_run_with_trades_is_identical(series: Series, agent: str, seed: int) -> None:
    """Longer slices, so that stops, take-profits, trailing stops and conditions all occur between steps."""
    result, held = assert_same_run(slice_of(series, 5_000, 1_500), agent, seed)
    assert result.performance.trades + result.performance.open_positions > 0
    assert result.agent.steps == 1_500
    if agent == "sma":  # every wake but the crosses (and the steps something else forced) held in bulk
        assert held > 0.8 * result.agent.decisions, (held, result.agent.decisions)
