"""``tradewake run``: the live runner (paper, testnet or mainnet), until Ctrl-C or ``--rounds``.

Start-up order: settings (mainnet needs its confirmation variable), store, broker access check
(testnet/mainnet), candle history (the snapshot builders' and the gate's warm-up), reconciliation of
the safety book with the exchange, then the loop. Any failure before the loop stops with one line.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from agent.factory import refuse_without_llm
from core.clock import WallClock
from core.errors import ConfigError
from core.ids import Symbol
from core.ports import Broker, Clock, Store
from core.settings import RunMode, Settings, load_settings
from core.timeframes import datetime_to_ms, timeframe_seconds
from engine.events import CandleClosed, Event, PriceTick
from engine.live import CandleFeed, LiveLoop
from engine.wiring import AgentChoice, Core, build_engine, sim_exchange, sim_markets
from exchange.sim import MarketFill, SimBroker, SimExchange
from exchange.symbols import SymbolError, normalize_symbol
from market.builder import Market, SnapshotBuilder
from market.candles import frame_from_arrays, frame_to_candles
from market.ccxt_rest import KLINE_LIMIT, CcxtRest, make_exchange
from market.derivatives import DerivativesPoller
from market.download import KlineSource
from market.regime import tracker_from_candles
from safety.reconcile import equity as account_equity

console = Console()
HISTORY_CANDLES = 2_000
"""Preloaded per symbol: indicators, the gate's baselines (it scores after 288) and the regime fit."""


def run_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    mode: Annotated[str | None, typer.Option("--mode", help="paper | testnet | mainnet (default: settings).")] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Candle timeframe the engine steps on.")] = "5m",
    rounds: Annotated[int | None, typer.Option("--rounds", min=1, help="Stop after N polling rounds.")] = None,
    poll_s: Annotated[float, typer.Option("--poll", min=1, help="Seconds between polls.")] = 10.0,
    heartbeat: Annotated[Path | None, typer.Option("--heartbeat", help="File rewritten every round.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
    allow_fallback: Annotated[
        bool,
        typer.Option("--allow-fallback", help="With an LLM backend and no usable key, let the rules backend decide "
                     "instead of refusing to start."),
    ] = False,
) -> None:
    """Run the agent live: paper (simulated fills at live prices), Binance testnet/demo, or mainnet."""
    settings = load_settings(config, **({"mode": mode} if mode else {}))
    if settings.mode is RunMode.BACKTEST:
        raise ConfigError("mode is backtest: use `tradewake backtest`, or pass --mode paper|testnet|mainnet")
    if not allow_fallback:
        refuse_without_llm(settings)
    timeframe_seconds(timeframe)
    asyncio.run(_run(settings, timeframe, rounds, poll_s, heartbeat))


async def _run(settings: Settings, timeframe: str, rounds: int | None, poll_s: float, heartbeat: Path | None) -> None:
    from store.factory import open_store

    clock = WallClock()
    store = open_store(settings.store)
    source = CcxtRest(make_exchange(settings.exchange.market_type))
    try:
        loop = await build_live_loop(settings, timeframe, clock, store, source, heartbeat=heartbeat)
        loop.poll_interval_s = poll_s
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        console.print(f"tradewake {settings.mode.value}: {', '.join(settings.exchange.symbols)} {timeframe}; "
                      "Ctrl-C stops (state is saved)")
        done = await loop.run(stop, rounds)
        console.print(f"stopped after {done} rounds")
    finally:
        await source.close()
        store.close()


async def build_live_loop(
    settings: Settings, timeframe: str, clock: Clock, store: Store, source: KlineSource, *, heartbeat: Path | None
) -> LiveLoop:
    """Everything ``tradewake run`` starts, over any clock, store and candle source (tests use recorded ones)."""
    try:
        symbols = [normalize_symbol(s, settings.exchange.market_type) for s in settings.exchange.symbols]
    except SymbolError as exc:
        raise ConfigError(f"exchange.symbols: {exc}") from exc
    histories = {s: await preload(source, s, timeframe, clock) for s in symbols}
    poller = derivatives_poller(settings, source, symbols)
    builders = {
        s: SnapshotBuilder(s, h, timeframe, regime=tracker_from_candles(s, h, timeframe),
                           derivatives=poller.history(s) if poller else None)
        for s, h in histories.items()
    }
    market = Market(builders)
    on_event: Callable[[Event], None] | None = None
    if settings.mode is RunMode.PAPER:
        rules = sim_markets(settings)
        venue = sim_exchange(settings, clock, rules, fill=MarketFill.IMMEDIATE,
                             initial_cash=settings.backtest.initial_cash, slippage_bps=settings.backtest.slippage_bps)
        broker: Broker = SimBroker(venue)
        on_event = paper_feed(venue)
        equity = Decimal(str(settings.backtest.initial_cash))
    else:
        from exchange.ccxt_broker import CcxtBroker

        ccxt_broker = CcxtBroker.from_settings(settings, clock=clock)
        await ccxt_broker.check_access()
        rules = dict(await ccxt_broker.load_markets())
        prices = {s: Decimal(str(h["close"].iloc[-1])) for s, h in histories.items()}
        equity = account_equity(await ccxt_broker.fetch_balance(), prices, settings.exchange.quote)
        broker = ccxt_broker
    core = Core(settings=settings, clock=clock, broker=broker, store=store, market=market,
                rules=rules, initial_equity=equity, seed=settings.learner.seed)
    engine = await build_engine(core, AgentChoice())
    for symbol, history in histories.items():
        engine.gate.warm_up(frame_to_candles(history, symbol, timeframe))
    feeds = [CandleFeed(source, s, timeframe, builders[s], histories[s]) for s in symbols]
    return LiveLoop(engine, feeds, clock, heartbeat=heartbeat, on_event=on_event, derivatives=poller)


def derivatives_poller(settings: Settings, source: KlineSource, symbols: list[Symbol]) -> DerivativesPoller | None:
    """Futures only (spot has no funding or open interest), and only from a source that can fetch them."""
    fetch = getattr(source, "fetch_derivatives", None)
    if settings.exchange.market_type != "future" or fetch is None:
        return None
    return DerivativesPoller(fetch, symbols)


async def preload(source: KlineSource, symbol: Symbol, timeframe: str, clock: Clock,
                  candles: int = HISTORY_CANDLES) -> pd.DataFrame:
    """The latest ``candles`` closed candles, page by page."""
    step = timedelta(seconds=timeframe_seconds(timeframe))
    until_ms = datetime_to_ms(clock.now())
    since_ms = until_ms - candles * int(step.total_seconds() * 1000)
    rows: list[list[float]] = []
    while since_ms < until_ms:
        page = await source.fetch_klines(symbol, timeframe, since_ms, until_ms)
        closed = [r for r in page if r[0] + step.total_seconds() * 1000 <= until_ms]
        if not closed:
            break
        rows.extend(closed)
        since_ms = int(closed[-1][0] + step.total_seconds() * 1000)
        if len(page) < KLINE_LIMIT:
            break
    if len(rows) < 300:
        raise ConfigError(f"only {len(rows)} closed {timeframe} candles for {symbol}; need 300 to start")
    array = np.asarray(rows, dtype="float64")
    return frame_from_arrays(array[:, 0].astype("int64"), array[:, 1:6])


def paper_feed(venue: SimExchange) -> Callable[[Event], None]:
    """Paper trading: the simulated exchange trades at every live price the feed sees."""

    def on_event(event: Event) -> None:
        if isinstance(event, CandleClosed):
            venue.on_price(Decimal(str(event.candle.close)), event.at, symbol=event.candle.symbol)
        elif isinstance(event, PriceTick):
            venue.on_price(Decimal(str(event.price)), event.at, symbol=event.symbol)

    return on_event
