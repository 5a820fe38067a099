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
from contextlib import AsyncExitStack, closing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, assert_never, overload

import numpy as np

from agent.factory import agent_backend, all_secrets
from agent.memory import AgentMemory
from core.clock import ExchangeClock, SimClock, WallClock
from core.errors import ConfigError
from core.ids import Symbol
from core.money import MarketRules
from core.ports import AgentBackend, Broker, Clock, NewEvent, Store
from core.ratelimit import Priority
from core.request_budget import RequestBudget
from core.settings import RunMode, Settings
from core.timeframes import ms_to_datetime
from engine.chaos import chaos_store
from engine.desk import EngineDesk
from engine.engine import Engine
from engine.exchange_setup import expected_terms, open_broker, venue_budget
from engine.holdings import SpotHoldings, run_holdings_config
from engine.live import LiveLoop
from engine.live_account import LiveAccount, exchange_account, last_closes, simulated_account, with_stream
from engine.live_feed import (
    at_start,
    candle_feeds,
    derivatives_poller,
    live_market,
    market_source,
    preload,
    warm_up_gate,
)
from engine.live_leases import LeaseRenewal
from engine.replay import CandleReplay
from engine.runners import Coordination, coordination
from engine.runs import LiveFeed, Replay, Run
from engine.simulated import SimParts, market_for, sim_exchange, sim_markets, sim_parts
from engine.timeline import Timeline
from exchange.ccxt_broker import CcxtBroker
from exchange.retry import Sleep
from exchange.symbols import SymbolError, normalize_symbol
from exchange.venue import Network, VenueSpec
from gate.persistence import open_gate
from holdings.config import HoldingsConfig
from learning.service import Learner
from market.builder import Market
from market.download import KlineSource
from safety.alerts import VetoStreak, notifiers_from, offline_notifiers
from safety.service import SafetyConfig, SafetyService
from tools.context import JournalSink, StoreJournal, TradingDesk
from tools.replay_journal import ReplayJournal

__all__ = [  # the simulated parts are re-exported: drivers and tests import them from here
    "AgentChoice", "AgentFactory", "Core", "LiveAccount", "RunPlan", "SimParts", "backtest_settings", "build_engine",
    "build_run", "exchange_broker", "live_symbols", "market_for", "plan_for", "sim_exchange", "sim_markets",
    "sim_parts",
]

AgentFactory = Callable[[TradingDesk, JournalSink, Clock], AgentBackend]
"""Builds an agent over the engine's desk: a scripted strategy, or a test's backend."""


@dataclass(frozen=True)
class AgentChoice:
    """How the agent is built: the backend the settings name (``llm.backend``), or ``factory``'s."""

    factory: AgentFactory | None = None
    record_to: Path | None = None


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
    marks: Mapping[Symbol, Decimal] = field(default_factory=dict)
    """Prices known before the first event (a live start's last closes): safety protects at reconciliation."""
    shared: Coordination | None = None
    """Several runners on one account (``engine.runners``): leases and the account-wide book."""


def _no_mark(name: str) -> object:
    return None


async def build_engine(
    core: Core, agent: AgentChoice, *, gate_persist_every: int = 1, alerts: bool = True, replay: bool = False,
    mark: Callable[[str], object] = _no_mark,
) -> Engine:
    """Assemble the engine over ``core`` and reconcile safety's book with the exchange before anything runs.
    ``alerts=False`` (a backtest, ``decide``): journaled, never sent (``safety.alerts.offline_notifiers``); ``replay``
    (a backtest): read-only tool calls are journaled in their decision only (``tools.replay_journal``)."""
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
            traded=tuple(core.market.symbols),
            expected_terms=expected_terms(settings.exchange, on_exchange=plan_for(settings).fills == "exchange"),
            **(core.shared.safety_fields() if core.shared else {}),
        ),
        initial_equity=core.initial_equity, alert_interval_s=settings.alerts.min_interval_s,
        holdings=spot.view() if spot else None,
    )
    holdings = spot.link(safety) if spot else None
    mark("safety open")
    # Protection first (invariant 6, and a restart's positions get their stops within seconds of the process
    # start): reconcile before the gate, the learner and the agent are built (an LLM backend imports its SDK).
    for symbol, price in core.marks.items():  # a restart protects its positions before the first tick comes
        safety.mark(symbol, price, clock.now())
    report = await safety.reconcile(clock.now(), cancel_orphans=settings.exchange.cancel_orphans)
    if not report.ok:
        raise ConfigError(f"reconciliation with the exchange failed: {report.error}")
    mark("reconcile and protect")
    gate = open_gate(settings.gate, settings.llm, store, clock, symbols=list(core.market.symbols))
    learner = Learner.open(store, settings.learner, clock)
    memory = AgentMemory(settings.llm.memory_max_chars, all_secrets(settings), store)
    lock = asyncio.Lock()  # safety's state has one holder at a time: a step's safety part, a guard pass, a desk call
    desk = EngineDesk(market=core.market, safety=safety, learner=learner, gate=gate, clock=clock,
                      rng=np.random.default_rng(core.seed), holdings=holdings, lock=lock)
    journal = ReplayJournal(store, clock) if replay else StoreJournal(store, clock)
    if agent.factory is not None:
        backend = agent.factory(desk, journal, clock)
    else:
        backend = agent_backend(
            settings, desk=desk, journal=journal, clock=clock, memory=memory, record_to=agent.record_to
        )
    engine = Engine(
        clock, store, core.market, safety, gate, backend, learner, memory,
        veto_streak=VetoStreak(threshold=settings.risk.repeated_veto_alert), gate_persist_every=gate_persist_every,
        holdings=holdings, lock=lock,
    )
    mark("gate, learner, agent")
    for trade in report.finalized:  # closed while we were away: the learner hears of it once
        learner.record_trade(trade)
    for trade in safety.closed_trades():  # closed before a crash that came before the learner's commit
        if not learner.is_recorded(trade.position_id):
            learner.record_trade(trade)
    return engine


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
    settings: Settings, clock: Clock, *, sleep: Sleep = asyncio.sleep, seed: int | None = None,
    budget: RequestBudget | None = None, signing_clock: Clock | None = None,
) -> CcxtBroker:
    """The ccxt broker on the venue of a testnet or mainnet run (no request sent yet: ``check_access`` next);
    ``budget``: the venue's shared request budget (``engine.exchange_setup.venue_budget``); ``signing_clock``:
    what signed timestamps are reckoned on (default ``clock``; a live run's is the wall clock)."""
    plan = plan_for(settings)
    if plan.fills != "exchange" or plan.venue is None:
        raise ConfigError(
            f"mode {settings.mode} fills on the simulated exchange; the ccxt broker is for testnet/mainnet"
        )
    return open_broker(plan.venue, settings.exchange, live_symbols(settings), clock, sleep=sleep, seed=seed,
                       budget=budget, signing_clock=signing_clock)


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
    settings: Settings, feed: LiveFeed, clock: ExchangeClock | None = None, *, agent: AgentChoice = ...
) -> Run[LiveLoop]: ...


async def build_run(
    settings: Settings, feed: Replay | LiveFeed, clock: Clock | None = None, *, agent: AgentChoice = AgentChoice()
) -> Run[Any]:
    """Everything a run of ``settings.mode`` needs, over ``feed``, reconciled with its exchange and ready to step.

    ``clock`` defaults to a simulated clock at the first candle (backtest) or the exchange's clock (live, from its
    server time). On a
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
                if clock is not None and not isinstance(clock, ExchangeClock):
                    raise TypeError("a live run follows the exchange's clock")
                run = await _live_run(settings, plan, feed, clock, agent, resources=resources)
            case _:
                assert_never(plan.fills)
        run.resources = resources.pop_all()
        return run


async def _replay_run(
    settings: Settings, replay: Replay, clock: SimClock | None, agent: AgentChoice, resources: AsyncExitStack
) -> Run[CandleReplay]:
    from store.batched import BatchedSqliteStore
    backtest = settings.backtest
    rules = dict(replay.markets) or sim_markets(settings, backtest.fee_pct)
    if missing := [s for s in replay.symbols if s not in rules]:
        raise ConfigError(f"the simulated exchange has no market {', '.join(missing)}; it lists {', '.join(rules)}")
    warmup = Timeline.of([(s.symbol, s.warmup) for s in replay.series], replay.timeframe)
    timeline = Timeline.of([(s.symbol, s.candles) for s in replay.series], replay.timeframe)
    first = warmup if len(warmup) else timeline
    parts = sim_parts(settings, first.close_at(0) - first.step, rules, clock)
    store = resources.enter_context(closing(BatchedSqliteStore(replay.store_path, settings.store.namespace)))
    market = Market({s.symbol: market_for(s.symbol, s.history, replay.timeframe).builder(s.symbol)
                     for s in replay.series})  # fmt: skip
    core = Core(settings=settings, clock=parts.clock, broker=parts.broker, store=store, market=market,
                rules=parts.venue.markets(), initial_equity=Decimal(str(backtest.initial_cash)), seed=backtest.seed)
    engine = await build_engine(core, agent, gate_persist_every=1_000_000, alerts=False, replay=True)
    engine.regime_on_demand = not replay.eager_regime  # its candles never change under a step
    feed = CandleReplay(engine, parts.clock, parts.venue, timeline, exact=replay.exact, after_step=store.end_step)
    feed.warm_up(warmup.candles())
    description = f"backtest: {', '.join(replay.symbols)} {replay.timeframe}, {len(timeline)} candles, simulated fills"
    return Run(description, engine, store, feed)


async def _live_run(
    settings: Settings, plan: RunPlan, feed: LiveFeed, clock: ExchangeClock | None, agent: AgentChoice, *,
    resources: AsyncExitStack,
) -> Run[LiveLoop]:
    from market.ccxt_rest import CcxtRest
    from store.factory import open_store

    assert plan.venue is not None
    venue, symbols, timeframe = plan.venue, live_symbols(settings), feed.timeframe
    source = feed.source or market_source(venue, settings.exchange.request_timeout_s, resources)
    clock = clock or ExchangeClock(ms_to_datetime(await at_start(source.fetch_time_ms)))  # the exchange's, not ours
    mark = feed.trace.mark if feed.trace is not None else _no_mark
    mark("market source and time")
    store = chaos_store(open_store(settings.store))  # the store itself unless a chaos test aims a kill at a save
    resources.callback(store.close)
    mark("store open")
    shared = coordination(settings, tuple(Symbol(s) for s in symbols), resources)  # several runners, or None
    # The broker's and the candles' request budget. Binance (and the venue) count weight per wall minute and say so in
    # wall time (usage headers, Retry-After, ban times): the budget keeps wall time too. On the exchange's clock, a
    # venue replaying at 300x made a full window's wait (market ms) a sleep of up to 60 wall seconds.
    budget = venue_budget(venue, shared.counter if shared else store, WallClock(), settings.exchange)
    # Until reconciled, a start's requests are its protection path (the history's last closes are what stops are placed
    # at; then account checks and reconciliation): admitted at PROTECTIVE. At MARKET_DATA (60 % of a window) or ACCOUNT
    # (85 %) they slept to the next wall minute behind the killed run's weight. The loop's own requests keep theirs.
    history_source: KlineSource = source
    if isinstance(source, CcxtRest):  # REST gap fills count against the shared budget (the first time read did not)
        source.budget = budget
        history_source = source.with_priority(Priority.PROTECTIVE)
    histories = {s: await preload(history_source, s, timeframe, clock) for s in symbols}
    mark("candle history")
    futures = settings.exchange.market_type == "future"
    market = live_market(histories, timeframe, derivatives=futures)
    mark("market and regime fit")
    broker: CcxtBroker | None = None
    if plan.fills == "simulated":
        account = simulated_account(settings, clock, store, histories)
    else:
        broker = exchange_broker(settings, clock, budget=budget, signing_clock=WallClock())  # Binance checks wall time
        resources.push_async_callback(broker.close)
        broker.protection_path(Priority.PROTECTIVE)
        account = with_stream(await exchange_account(broker, settings, histories), settings, venue, resources)
    mark("exchange account")
    core = Core(settings=settings, clock=clock, broker=account.broker, store=store, market=market,
                rules=account.rules, initial_equity=account.equity, seed=settings.learner.seed,
                marks=last_closes(histories), shared=shared)
    engine = await build_engine(core, agent, mark=mark)
    if broker is not None:
        broker.protection_path(None)  # reconciled: each request at its own priority again
    engine.equity_fetch_s = feed.equity_fetch_s
    warm_up_gate(engine.gate, histories, timeframe)
    mark("gate warm-up")
    loop = LiveLoop(engine, candle_feeds(source, market, histories, timeframe), source, clock,
                    cadence=feed.cadence(settings.gate.feed_stale_s), account=account.stream,
                    heartbeat=feed.heartbeat, on_price=account.on_price,
                    derivatives=derivatives_poller(source, symbols) if futures else None,
                    leases=LeaseRenewal(shared.leases, clock, store) if shared else None)
    fills = "simulated fills at live prices from" if plan.fills == "simulated" else "orders on"
    description = f"{settings.mode}: {', '.join(symbols)} {timeframe}, {fills} Binance {venue.label} ({venue.hosts})"
    mark("live loop")
    if feed.trace is not None:
        store.append(NewEvent(at=clock.now(), kind="run.startup", payload=feed.trace.as_json()))
    return Run(description, engine, store, loop)
