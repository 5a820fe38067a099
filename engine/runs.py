"""What a driver hands to ``engine.wiring.build_run`` (a feed) and what it gets back (a ``Run``).

Two feeds: ``Replay`` (a backtest's recorded candles) and ``LiveFeed`` (candles and trades streamed from the
run's venue, the account's stream, the operator's queue, derivatives, timers). Which one a mode takes, and
everything else a mode means, is decided in ``engine/wiring.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import pandas as pd

from core.ids import Symbol
from core.money import MarketRules
from core.ports import Store
from engine.engine import Engine
from engine.live import LiveLoop
from engine.live_feed import MarketSource
from engine.live_health import Cadence
from engine.replay import CandleReplay
from engine.startup import StartupTrace


@dataclass(frozen=True)
class ReplaySeries:
    """One market's recorded candles in a backtest."""

    symbol: Symbol
    history: pd.DataFrame
    """Every candle the snapshot builders and the regime may read (never past a snapshot's ``as_of``)."""
    warmup: pd.DataFrame
    """Candles before ``candles`` that only warm up the gate and the exchange's last price."""
    candles: pd.DataFrame
    """The candles to step."""


@dataclass(frozen=True)
class Replay:
    """A backtest's feed: recorded candles of one or several markets, merged by time and replayed on a simulated
    clock through one engine and one account, each stepped at its close."""

    series: Sequence[ReplaySeries]
    timeframe: str
    store_path: Path
    """The run's own SQLite store (not durable: a backtest is rerun, not recovered)."""
    markets: Mapping[Symbol, MarketRules] = field(default_factory=dict)
    """The simulated exchange's markets (a backtest lists its data's markets only); empty: Binance's recorded ones."""
    exact: bool = False
    """Step every candle (the per-candle oracle) instead of only those where something can happen."""
    eager_regime: bool = False
    """Read the regime at every step, as a live run does, instead of when something asks for it
    (``Engine.regime_on_demand``): the oracle the on-demand reading is tested against."""

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return tuple(s.symbol for s in self.series)

    @classmethod
    def single(  # noqa: PLR0917 - the fields of one series and of the replay, in the order they read
        cls, symbol: Symbol, timeframe: str, history: pd.DataFrame, warmup: pd.DataFrame, candles: pd.DataFrame,
        store_path: Path, markets: Mapping[Symbol, MarketRules] | None = None, *, exact: bool = False,
    ) -> Replay:
        """One market's replay."""
        return cls((ReplaySeries(symbol, history, warmup, candles),), timeframe, store_path, dict(markets or {}),
                   exact)  # fmt: skip


@dataclass(frozen=True)
class LiveFeed:
    """A live run's feed: candles and trades streamed from the run's venue, the account's user-data stream, the
    operator's queue, derivatives, timers (``engine/live.py``)."""

    timeframe: str = "5m"
    source: MarketSource | None = None
    """Market data from here instead of ccxt on the run's venue."""
    heartbeat: Path | None = None
    safety_interval_s: float = 30.0
    """Exchange-clock seconds between two guard passes at most (and between two timer ticks)."""
    tick_interval_s: float = 10.0
    """Exchange-clock seconds between two price ticks stepped through the whole engine."""
    equity_fetch_s: float = 300.0
    """Exchange-clock seconds between two balance reads for the equity (also read after every account change)."""
    trace: StartupTrace | None = None
    """Marks the start's phases (``engine.startup``); ``None``: not traced."""

    def cadence(self, feed_stale_s: float) -> Cadence:
        """The live loop's cadence; a market stream silent for ``feed_stale_s`` (the gate's) is dialled again."""
        return Cadence(
            safety_interval_s=self.safety_interval_s,
            tick_interval_s=self.tick_interval_s,
            stream_silence_s=feed_stale_s,
        )


F = TypeVar("F", CandleReplay, LiveLoop)


@dataclass
class Run(Generic[F]):
    """An assembled run: the engine, the feed that steps it, and what to close when it ends."""

    description: str
    """One line for people: mode, markets, where the fills happen."""
    engine: Engine
    store: Store
    feed: F
    resources: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def close(self) -> None:
        """Close what the run opened (the store, exchange clients), last opened first."""
        await self.resources.aclose()
