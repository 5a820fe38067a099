"""The one place that builds the set of parts a run uses from settings: clock, feed, broker, store, agent,
notifiers. No adapter contains an ``if mode == ...``; this module does, once.

- ``backtest``: a simulated clock, the simulated exchange fed from candles, a run-local SQLite store.
- ``paper``: the wall clock, the simulated exchange fed from live prices, the configured store.
- ``testnet`` / ``mainnet``: the wall clock, ``CcxtBroker`` on the venue the mode names, the configured store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from agent.factory import agent_backend, all_secrets
from agent.memory import AgentMemory
from core.clock import SimClock
from core.errors import ConfigError
from core.ids import Symbol
from core.money import MarketRules
from core.ports import AgentBackend, Broker, Clock, Store
from core.settings import Settings
from engine.desk import EngineDesk
from engine.engine import Engine
from exchange.sim import (
    FixedBpsSlippage,
    MarketFill,
    SimBroker,
    SimConfig,
    SimExchange,
    binance_futures_markets,
    binance_spot_markets,
)
from gate.persistence import open_gate
from learning.service import Learner
from market.builder import Market, SnapshotBuilder
from market.regime import tracker_from_candles
from safety.alerts import VetoStreak, notifiers_from
from safety.service import SafetyConfig, SafetyService
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


async def build_engine(core: Core, agent: AgentChoice, *, gate_persist_every: int = 1) -> Engine:
    """Assemble the engine over ``core`` and reconcile safety's book with the exchange before anything runs."""
    settings, clock, store = core.settings, core.clock, core.store
    safety = SafetyService.open(
        broker=core.broker,
        store=store,
        clock=clock,
        notifiers=notifiers_from(settings.alerts),
        config=SafetyConfig(
            rules=core.rules,
            risk=settings.risk,
            mode=settings.mode,
            prefix=settings.exchange.client_id_prefix,
            quote_asset=settings.exchange.quote,
            market_type=settings.exchange.market_type,
        ),
        initial_equity=core.initial_equity,
        alert_interval_s=settings.alerts.min_interval_s,
    )
    gate = open_gate(settings.gate, settings.llm, store, clock, symbols=list(core.market.symbols))
    learner = Learner.open(store, settings.learner, clock)
    memory = AgentMemory(settings.llm.memory_max_chars, all_secrets(settings), store)
    desk = EngineDesk(
        market=core.market,
        safety=safety,
        learner=learner,
        gate=gate,
        clock=clock,
        rng=np.random.default_rng(core.seed),
    )
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


def sim_parts(settings: Settings, start: datetime, rules: Mapping[Symbol, MarketRules]) -> SimParts:
    backtest = settings.backtest
    clock = SimClock(start)
    venue = sim_exchange(
        settings, clock, rules, fill=MarketFill.NEXT_PRICE,
        initial_cash=backtest.initial_cash, slippage_bps=backtest.slippage_bps,
    )
    return SimParts(clock, venue, SimBroker(venue))
