"""What the holdings service reads besides its own records: the market, the wallet, the safety book.

- :class:`MarketSource` answers one :class:`MarketReading` per symbol (snapshot, market rules, spread
  when known, correlations with related symbols). :class:`SnapshotMarketSource` is the implementation
  over ``market.builder.Market`` (the same builders the engine uses) and the candles' closes.
- :class:`Wallet` is the account as the caller (the engine) knows it: balances, equity, the bot's open
  positions and what currently blocks entries. The engine takes them from the safety service's public
  surface (``balances``, ``positions()``, ``blockers(now)``); nothing here reads safety's state.
  :meth:`Wallet.held` is what holdings compares and hands over: the wallet's total less the bot's own
  positions, so the bot's fills in the asset's market are never mistaken for a change in the holding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import pandas as pd

from core.errors import ConfigError, OperationalError, TemporaryError
from core.ids import PositionId, Symbol
from core.money import MarketRules
from core.timeframes import timeframe_seconds
from core.types import Balance, Position, PositionSide
from holdings.market_facts import return_correlation
from market.builder import DEFAULT_TIMEFRAMES, Market, SnapshotBuilder
from market.candles import infer_timeframe
from market.regime import RegimeTracker
from market.snapshot import MarketSnapshot

MARKET_ERRORS = (TemporaryError, OperationalError, ConfigError)
"""What a market source may raise when it cannot answer (network, no data, unknown symbol):
the service turns it into "market down", never into a crash."""

CORRELATION_WINDOW = 720
"""Closes used for a correlation: 30 days of 1h candles."""


@dataclass(frozen=True, slots=True)
class MarketReading:
    snapshot: MarketSnapshot
    rules: MarketRules
    spread_pct: float | None = None
    correlations: Mapping[Symbol, float] = field(default_factory=dict)


class MarketSource(Protocol):
    def reading(self, symbol: Symbol, as_of: datetime, related: Sequence[Symbol] = ()) -> MarketReading:
        """The market of ``symbol`` at ``as_of`` (nothing later), with its correlation to each of ``related``.

        Raises one of :data:`MARKET_ERRORS` when it cannot answer.
        """
        ...


class SnapshotMarketSource:
    """Readings from snapshot builders; correlations of log returns from the candles' closes.

    ``closes``: per symbol, the close of each candle indexed by its open time (one timeframe for all
    symbols); a close counts at ``as_of`` only once its candle has closed. ``spreads``: live spreads in %
    when the caller has an order book (a backtest has none).
    """

    def __init__(
        self,
        market: Market,
        rules: Mapping[Symbol, MarketRules],
        closes: Mapping[Symbol, pd.Series] | None = None,
        *,
        timeframe: str = "1h",
        spreads: Mapping[Symbol, float] | None = None,
    ) -> None:
        self.market = market
        self.rules = dict(rules)
        self.closes = dict(closes or {})
        self.timeframe = timeframe
        self.spreads = dict(spreads or {})

    @classmethod
    def from_candles(
        cls,
        candles: Mapping[Symbol, pd.DataFrame],
        rules: Mapping[Symbol, MarketRules],
        *,
        regime: RegimeTracker | None = None,
        timeframes: Sequence[str] = DEFAULT_TIMEFRAMES,
    ) -> SnapshotMarketSource:
        """Builders and closes from candle frames of one timeframe (what tests and a CLI preview use)."""
        builders = {s: SnapshotBuilder(s, frame, timeframes=timeframes, regime=regime) for s, frame in candles.items()}
        first = next(iter(candles.values()))
        closes = {s: frame["close"] for s, frame in candles.items()}
        return cls(Market(builders), rules, closes, timeframe=infer_timeframe(first))

    def reading(self, symbol: Symbol, as_of: datetime, related: Sequence[Symbol] = ()) -> MarketReading:
        rules = self.rules.get(symbol)
        if rules is None:
            raise ConfigError(f"no market rules for {symbol}")
        snapshot = self.market.snapshot(symbol, as_of)
        correlations = {s: rho for s in related if (rho := self._correlation(symbol, s, as_of)) is not None}
        return MarketReading(snapshot, rules, self.spreads.get(symbol), correlations)

    def _correlation(self, a: Symbol, b: Symbol, as_of: datetime) -> float | None:
        if a not in self.closes or b not in self.closes:
            return None
        last_open = pd.Timestamp(as_of) - pd.Timedelta(seconds=timeframe_seconds(self.timeframe))
        joined = (
            pd.concat([self.closes[a], self.closes[b]], axis=1, join="inner").loc[:last_open].tail(CORRELATION_WINDOW)
        )
        if len(joined) < 3:
            return None
        return return_correlation(joined.iloc[:, 0].tolist(), joined.iloc[:, 1].tolist())


@dataclass(frozen=True, slots=True)
class Wallet:
    """The account as the caller knows it."""

    balances: Mapping[str, Balance]
    equity: Decimal
    """In the quote currency: cash plus every asset at the latest price."""
    positions: tuple[Position, ...] = ()
    """The bot's open positions (correlation warnings, and the exposure already committed)."""
    blockers: tuple[str, ...] = ()
    """What stops entries now, in words (kill switch, sleep, an open breaker): warned about in proposals."""

    def quantity(self, asset: str) -> Decimal:
        """The wallet's total of ``asset`` (free and locked in orders)."""
        balance = self.balances.get(asset)
        return balance.total if balance is not None else Decimal(0)

    def held(self, asset: str, managed: PositionId | None = None) -> Decimal:
        """The holding: the wallet's total of ``asset`` less the bot's own long positions in it. ``managed`` is
        the managed holding's guarded position: those coins are the holding's, not the bot's own."""
        mine = [p for p in self.positions if p.side is PositionSide.LONG and base_of(p.symbol) == asset]
        own = sum((p.quantity for p in mine if p.id != managed), Decimal(0))
        return self.quantity(asset) - own


def base_of(symbol: Symbol) -> str:
    """``BTC/USDT`` -> ``BTC``."""
    return symbol.split("/", 1)[0]
