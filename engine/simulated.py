"""The simulated parts a run can be built from: Binance's recorded market rules, the simulated exchange, and
the backtest's clock, exchange and broker. ``engine/wiring.py`` decides which run uses them (and re-exports
these names, which the drivers and tests import from there)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd

from core.clock import SimClock
from core.ids import Symbol
from core.money import MarketRules
from core.ports import Clock
from core.settings import Settings
from exchange.sim import (
    FixedBpsSlippage,
    MarketFill,
    SimBroker,
    SimConfig,
    SimExchange,
    binance_futures_markets,
    binance_spot_markets,
)
from market.builder import Market, SnapshotBuilder
from market.regime import tracker_from_candles


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
        default_leverage=settings.exchange.leverage,  # futures: what a live run sets on the account
    )
    return SimExchange(list(rules.values()), clock, config)


def market_for(symbol: Symbol, candles: pd.DataFrame, timeframe: str) -> Market:
    """Snapshot builders over ``candles``; the regime is fitted on the same series (weekly, no look-ahead)."""
    regime = tracker_from_candles(symbol, candles, timeframe)
    return Market({symbol: SnapshotBuilder(symbol, candles, timeframe, regime=regime)})


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
