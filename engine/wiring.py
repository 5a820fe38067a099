"""The composition root: the one place that turns settings into a run, and the one module that names a run mode.

``build_run(settings, feed, clock)`` reads what the mode means from ``plan_for`` (one ``match`` over
``settings.mode``) and assembles everything the driver steps:

- ``backtest``: recorded candles (``Replay``) on a simulated clock and exchange, a run-local SQLite store;
- ``paper``: the live loop over live candles, fills on the simulated exchange at live prices, the configured store;
- ``testnet`` / ``mainnet``: the live loop, ``CcxtBroker`` on the venue the mode names, the configured store.

Live candles and orders come from one ``VenueSpec`` (``exchange/venue.py``): Binance's spot testnet or demo
trading for testnet, its mainnet otherwise, at ``exchange.venue_url`` when that is set. The gate is warmed up
once, here. The drivers (``engine/live_cli.py``, ``backtests/runner.py``) only step what this returns and
close it. No adapter contains an ``if mode == ...``: adding a run mode or an exchange touches this module
and the new adapter (``docs/architecture.md``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, assert_never, overload

import numpy as np
import pandas as pd

from agent.factory import agent_backend, all_secrets
from agent.memory import AgentMemory
from core.clock import SimClock, WallClock
from core.errors import ConfigError
from core.ids import Symbol
from core.money import MarketRules
from core.ports import AgentBackend, Broker, Clock, Store
from core.settings import RunMode, Settings
from engine.desk import EngineDesk
from engine.engine import Engine
from engine.events import Event
from engine.holdings import SpotHoldings, run_holdings_config
from engine.live import LiveLoop, candle_feeds, derivatives_poller, live_market, paper_feed, preload, warm_up_gate
from engine.replay import CandleReplay
from engine.runs import LiveFeed, Replay, Run
from exchange.ccxt_broker import CcxtBroker
from exchange.ccxt_client import ccxt_client
from exchange.retry import RetryPolicy, Sleep
from exchange.sim import (
    FixedBpsSlippage,
    MarketFill,
    SimBroker,
    SimConfig,
    SimExchange,
    binance_futures_markets,
    binance_spot_markets,
)
from exchange.symbols import SymbolError, normalize_symbol
from exchange.venue import Network, VenueSpec
from gate.persistence import open_gate
from holdings.config import HoldingsConfig
from learning.service import Learner
from market.builder import Market, SnapshotBuilder
from market.regime import tracker_from_candles
from safety.alerts import VetoStreak, notifiers_from, offline_notifiers
from safety.service import SafetyConfig, SafetyService, account_equity
from tools.context import JournalSink, StoreJournal, TradingDesk

AgentFactory = Callable[[TradingDesk, JournalSink, Clock], AgentBackend]
"""Builds an agent over the engine's desk: a scripted strategy, or a test's backend."""


@dataclass(frozen=True)
class AgentChoice:
    """How the agent is built: the backend the settings name (``llm.backend``), or ``factory``'s."""

    factory: AgentFactory | None = None
    record_to: Path | None = None


def sim_markets(settings: Settings, fee_pct: float | None = None) -> dict[Symbol, MarketRules]:
    """Binance's recorded market rules for the configured market type, with the fees overridden if asked."""
    listed = binance_spot_markets() if settings.exchange.market_type == "spot" else binance_futures_markets()
    rules = {m.symbol: m for m in listed}
    if fee_pct is not None:
        fee = Decimal(str(fee_pct)) / Decimal(100)
        rules = {s: r.model_copy(update={"maker_fee": fee, "taker_fee": fee}) for s, r in rules.items()}
    return rules


def sim_exchange(
    settings: Settings,
    clock: Clock,
    rules: Mapping[Symbol, MarketRules],
    *,
    fill: MarketFill,
    initial_cash: float,
    slippage_bps: float,
) -> SimExchange:
    config = SimConfig(
        market_type=settings.exchange.market_type,
        initial_balances={settings.exchange.quote: Decimal(str(initial_cash))},
        market_fill=fill,
        slippage=FixedBpsSlippage(Decimal(str(slippage_bps))),
    )
    return SimExchange(list(rules.values()), clock, config)


def market_for(symbol: Symbol, candles: pd.DataFrame, timeframe: str) -> Market:
    """Snapshot builders over ``candles``; the regime is fitted on the same series (weekly, no look-ahead)."""
    regime = tracker_from_candles(symbol, candles, timeframe)
    return Market({symbol: SnapshotBuilder(symbol, candles, timeframe, regime=regime)})


@dataclass(frozen=True)
class Core:
    """Everything below the feed, for any mode."""

    settings: Settings
    clock: Clock
    broker: Broker
    store: Store
    market: Market
    rules: Mapping[Symbol, MarketRules]
    initial_equity: Decimal
    seed: int


async def build_engine(core: Core, agent: AgentChoice, *, gate_persist_every: int = 1, alerts: bool = True) -> Engine:
    """Assemble the engine over ``core`` and reconcile safety's book with the exchange before anything runs.
    ``alerts=False`` (a backtest, ``decide``): journaled, never sent (``safety.alerts.offline_notifiers``)."""
    settings, clock, store = core.settings, core.clock, core.store
    notifiers = notifiers_from(settings.alerts) if alerts else offline_notifiers(settings.alerts, store, clock.now())
    spot = (SpotHoldings.build(store, clock, core.market, core.rules, holdings_config(settings))
            if settings.exchange.market_type == "spot" else None)  # managed holdings are spot coins
    safety = SafetyService.open(
        broker=core.broker, store=store, clock=clock, notifiers=notifiers,
        config=SafetyConfig(
            rules=core.rules, risk=settings.risk, mode=settings.mode, prefix=settings.exchange.client_id_prefix,
            quote_asset=settings.exchange.quote, market_type=settings.exchange.market_type,
            delegated_commands=spot.delegated if spot else (),
        ),
        initial_equity=core.initial_equity, alert_interval_s=settings.alerts.min_interval_s,
        holdings=spot.view() if spot else None,
    )
    holdings = spot.link(safety) if spot else None
    gate = open_gate(settings.gate, settings.llm, store, clock, symbols=list(core.market.symbols))
    learner = Learner.open(store, settings.learner, clock)
    memory = AgentMemory(settings.llm.memory_max_chars, all_secrets(settings), store)
    desk = EngineDesk(market=core.market, safety=safety, learner=learner, gate=gate, clock=clock,
                      rng=np.random.default_rng(core.seed), holdings=holdings)
    journal = StoreJournal(store, clock)
    if agent.factory is not None:
        backend = agent.factory(desk, journal, clock)
    else:
        backend = agent_backend(
            settings, desk=desk, journal=journal, clock=clock, memory=memory, record_to=agent.record_to
        )
    engine = Engine(
        clock, store, core.market, safety, gate, backend, learner, memory,
        veto_streak=VetoStreak(threshold=settings.risk.repeated_veto_alert), gate_persist_every=gate_persist_every,
        holdings=holdings,
    )
    report = await safety.reconcile(clock.now(), cancel_orphans=settings.exchange.cancel_orphans)
    if not report.ok:
        raise ConfigError(f"reconciliation with the exchange failed: {report.error}")
    for trade in report.finalized:  # closed while we were away: the learner hears of it once
        learner.record_trade(trade)
    return engine


@dataclass(frozen=True)
class SimParts:
    clock: SimClock
    venue: SimExchange
    broker: SimBroker


def sim_parts(
    settings: Settings, start: datetime, rules: Mapping[Symbol, MarketRules], clock: SimClock | None = None
) -> SimParts:
    """The backtest's simulated clock (at ``start`` unless given), exchange (market orders fill at the next price)
    and broker."""
    backtest = settings.backtest
    clock = clock or SimClock(start)
    venue = sim_exchange(
        settings, clock, rules, fill=MarketFill.NEXT_PRICE,
        initial_cash=backtest.initial_cash, slippage_bps=backtest.slippage_bps,
    )
    return SimParts(clock, venue, SimBroker(venue))


# ---------------------------------------------------------------------- what a run mode means

Fills = Literal["replayed", "simulated", "exchange"]
_BACKTEST_NEEDS_REPLAY = "mode is backtest: use `tradewake backtest`, or pass --mode paper|testnet|mainnet"


@dataclass(frozen=True)
class RunPlan:
    """What a run mode means, decided once (``plan_for``)."""

    fills: Fills
    """``replayed``: recorded candles on the simulated exchange; ``simulated``: the simulated exchange at live
    prices; ``exchange``: real orders on ``venue``."""
    venue: VenueSpec | None
    """Where live candles (and, with ``exchange`` fills, orders) come from; ``None`` for a backtest."""
    real_money: bool = False
    """Mainnet: the stricter rules for managed holdings (``holdings_config``)."""


def plan_for(settings: Settings) -> RunPlan:
    """The only ``match`` over the run mode: a new mode is a new case here (and mypy names every other match)."""
    market_type = settings.exchange.market_type
    match settings.mode:
        case RunMode.BACKTEST:
            return RunPlan("replayed", None)
        case RunMode.PAPER:
            return RunPlan("simulated", _venue(settings, Network.MAINNET))
        case RunMode.TESTNET:  # ccxt refuses Binance's old futures testnet: futures test trading is demo trading
            return RunPlan("exchange", _venue(settings, Network.SANDBOX if market_type == "spot" else Network.DEMO))
        case RunMode.MAINNET:
            return RunPlan("exchange", _venue(settings, Network.MAINNET), real_money=True)
        case _:
            assert_never(settings.mode)


def _venue(settings: Settings, network: Network) -> VenueSpec:
    market_type, url = settings.exchange.market_type, settings.exchange.venue_url
    return VenueSpec.at(market_type, network, url) if url else VenueSpec(market_type, network)


def holdings_config(settings: Settings) -> HoldingsConfig:
    """What the run mode means for managed holdings (the engine's and ``tradewake holdings``'s config)."""
    return run_holdings_config(settings, real_money=plan_for(settings).real_money)


def backtest_settings(settings: Settings) -> Settings:
    """``settings`` in backtest mode: ``tradewake backtest`` replays whatever mode the file or environment names."""
    return settings.model_copy(update={"mode": RunMode.BACKTEST})


def exchange_broker(
    settings: Settings, clock: Clock, *, sleep: Sleep = asyncio.sleep, seed: int | None = None
) -> CcxtBroker:
    """The ccxt broker on the venue of a testnet or mainnet run (no request sent yet: ``check_access`` next)."""
    plan = plan_for(settings)
    if plan.fills != "exchange" or plan.venue is None:
        raise ConfigError(
            f"mode {settings.mode} fills on the simulated exchange; the ccxt broker is for testnet/mainnet"
        )
    exchange = settings.exchange
    if exchange.api_key is None or exchange.api_secret is None:
        raise ConfigError(
            f"{plan.venue.label} needs exchange.api_key and exchange.api_secret "
            "(TRADEWAKE_EXCHANGE__API_KEY / TRADEWAKE_EXCHANGE__API_SECRET)"
        )
    return CcxtBroker.open(
        plan.venue, api_key=exchange.api_key.get_secret_value(), api_secret=exchange.api_secret.get_secret_value(),
        symbols=live_symbols(settings), clock=clock, retry=RetryPolicy.from_settings(exchange),
        timeout_s=exchange.request_timeout_s, sleep=sleep, seed=seed,
    )


def live_symbols(settings: Settings) -> list[Symbol]:
    """The configured symbols in the market type's spelling (``BTC/USDT:USDT`` on futures)."""
    try:
        return [normalize_symbol(s, settings.exchange.market_type) for s in settings.exchange.symbols]
    except SymbolError as exc:
        raise ConfigError(f"exchange.symbols: {exc}") from exc


# ---------------------------------------------------------------------- building a run


@overload
async def build_run(
    settings: Settings, feed: Replay, clock: SimClock | None = None, *, agent: AgentChoice = ...
) -> Run[CandleReplay]: ...


@overload
async def build_run(
    settings: Settings, feed: LiveFeed, clock: Clock | None = None, *, agent: AgentChoice = ...
) -> Run[LiveLoop]: ...


async def build_run(
    settings: Settings, feed: Replay | LiveFeed, clock: Clock | None = None, *, agent: AgentChoice = AgentChoice()
) -> Run[Any]:
    """Everything a run of ``settings.mode`` needs, over ``feed``, reconciled with its exchange and ready to step.

    ``clock`` defaults to a simulated clock at the first candle (backtest) or the wall clock (live). On a
    failure, whatever was opened is closed again before the error leaves.
    """
    plan = plan_for(settings)
    async with AsyncExitStack() as resources:
        run: Run[Any]
        match plan.fills:
            case "replayed":
                if not isinstance(feed, Replay):
                    raise ConfigError(_BACKTEST_NEEDS_REPLAY)
                if clock is not None and not isinstance(clock, SimClock):
                    raise TypeError("a backtest steps a simulated clock")
                run = await _replay_run(settings, feed, clock, agent, resources)
            case "simulated" | "exchange":
                if not isinstance(feed, LiveFeed):
                    raise ConfigError(f"mode {settings.mode} runs on live candles; a replay is a backtest")
                assert plan.venue is not None
                run = await _live_run(settings, plan, feed, clock or WallClock(), agent, resources=resources)
            case _:
                assert_never(plan.fills)
        run.resources = resources.pop_all()
        return run


async def _replay_run(
    settings: Settings, replay: Replay, clock: SimClock | None, agent: AgentChoice, resources: AsyncExitStack
) -> Run[CandleReplay]:
    from store.sqlite_store import SqliteStore

    backtest = settings.backtest
    rules = dict(replay.markets) or sim_markets(settings, backtest.fee_pct)
    if replay.symbol not in rules:
        raise ConfigError(f"the simulated exchange has no market {replay.symbol}; it lists {', '.join(rules)}")
    parts = sim_parts(settings, (replay.warmup or replay.candles)[0].open_at, rules, clock)
    store = SqliteStore(replay.store_path, namespace=settings.store.namespace, durable=False)
    resources.callback(store.close)
    core = Core(settings=settings, clock=parts.clock, broker=parts.broker, store=store,
                market=market_for(replay.symbol, replay.history, replay.timeframe), rules=parts.venue.markets(),
                initial_equity=Decimal(str(backtest.initial_cash)), seed=backtest.seed)
    engine = await build_engine(core, agent, gate_persist_every=1_000_000, alerts=False)
    feed = CandleReplay(engine, parts.clock, parts.venue, replay.candles)
    feed.warm_up(replay.warmup)
    description = f"backtest: {replay.symbol} {replay.timeframe}, {len(replay.candles)} candles, simulated fills"
    return Run(description, engine, store, feed)


@dataclass(frozen=True)
class LiveAccount:
    """Where a live run's orders fill, and the equity it starts from."""

    broker: Broker
    rules: Mapping[Symbol, MarketRules]
    equity: Decimal
    on_event: Callable[[Event], None] | None = None
    """Paper: the simulated exchange sees every event before the engine (its fills follow live prices)."""


async def _live_run(
    settings: Settings, plan: RunPlan, feed: LiveFeed, clock: Clock, agent: AgentChoice, *, resources: AsyncExitStack
) -> Run[LiveLoop]:
    from market.ccxt_rest import CcxtRest
    from store.factory import open_store

    assert plan.venue is not None
    venue, symbols, timeframe = plan.venue, live_symbols(settings), feed.timeframe
    source = feed.source
    if source is None:  # candles from the venue the orders go to (paper: live prices from it)
        rest = CcxtRest(ccxt_client(venue, timeout_s=settings.exchange.request_timeout_s))
        resources.push_async_callback(rest.close)
        source = rest
    histories = {s: await preload(source, s, timeframe, clock) for s in symbols}
    futures = settings.exchange.market_type == "future"
    market = live_market(histories, timeframe, derivatives=futures)
    if plan.fills == "simulated":
        account = _simulated_account(settings, clock)
    else:
        account = await _exchange_account(settings, clock, histories, resources)
    store = open_store(settings.store)
    resources.callback(store.close)
    core = Core(settings=settings, clock=clock, broker=account.broker, store=store, market=market,
                rules=account.rules, initial_equity=account.equity, seed=settings.learner.seed)
    engine = await build_engine(core, agent)
    warm_up_gate(engine.gate, histories, timeframe)
    loop = LiveLoop(engine, candle_feeds(source, market, histories, timeframe), clock, heartbeat=feed.heartbeat,
                    on_event=account.on_event, poll_interval_s=feed.poll_interval_s,
                    derivatives=derivatives_poller(source, symbols) if futures else None)
    fills = "simulated fills at live prices from" if plan.fills == "simulated" else "orders on"
    description = f"{settings.mode}: {', '.join(symbols)} {timeframe}, {fills} Binance {venue.label} ({venue.hosts})"
    return Run(description, engine, store, loop)


def _simulated_account(settings: Settings, clock: Clock) -> LiveAccount:
    rules = sim_markets(settings)
    venue = sim_exchange(settings, clock, rules, fill=MarketFill.IMMEDIATE,
                         initial_cash=settings.backtest.initial_cash, slippage_bps=settings.backtest.slippage_bps)
    return LiveAccount(SimBroker(venue), rules, Decimal(str(settings.backtest.initial_cash)), paper_feed(venue))


async def _exchange_account(
    settings: Settings, clock: Clock, histories: Mapping[Symbol, pd.DataFrame], resources: AsyncExitStack
) -> LiveAccount:
    broker = exchange_broker(settings, clock)
    resources.push_async_callback(broker.close)
    await broker.check_access()
    rules = dict(await broker.load_markets())
    prices = {s: Decimal(str(h["close"].iloc[-1])) for s, h in histories.items()}
    equity = account_equity(await broker.fetch_balance(), prices, settings.exchange.quote)
    return LiveAccount(broker, rules, equity)
