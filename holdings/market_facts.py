"""The market facts a proposal and a drift check need, read from a ``MarketSnapshot`` (pure).

- **ATR**: from the longest of ``ATR_TIMEFRAMES`` the snapshot has an ATR for. A holding is managed over
  days (a proposal lives 7), so the daily ATR is the natural yardstick; 4h and 1h are fallbacks
  while daily history is too short (14 closed days), and lower the proposal's confidence.
- **Support / resistance**: the lowest low and highest high of the last 24 candles of that same
  timeframe (``dist_low_pct`` / ``dist_high_pct`` of the snapshot, turned back into prices).
- **24 h volume**: the quote volume of the last closed 1d candle (volume x close); ``None`` without one.
- **Spread**: only when the caller knows it (live bid/ask); a backtest has none.
- **Regime**: label and the probability of that label.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.ids import Symbol
from core.timeframes import timeframe_seconds
from market.builder import STALE_AFTER_CANDLES
from market.snapshot import MarketSnapshot, TimeframeSummary

ATR_TIMEFRAMES = ("1d", "4h", "1h")
"""Preferred first. The snapshot's base timeframe is the last resort."""


class NotEnoughMarketData(ValueError):
    """The snapshot has no ATR on any timeframe: nothing to size a stop with."""


@dataclass(frozen=True, slots=True)
class MarketFacts:
    symbol: Symbol
    as_of: datetime
    price: float
    atr: float
    atr_timeframe: str
    atr_pct: float
    preferred_timeframe: bool
    """False when the ATR comes from a fallback timeframe (less history than the preferred one)."""
    realized_vol_pct: float | None
    volume_24h_quote: float | None
    spread_pct: float | None
    regime: str | None
    regime_probability: float | None
    support: float | None
    resistance: float | None
    data_age_s: int
    stale_after_s: int
    """The snapshot's own staleness rule: ``STALE_AFTER_CANDLES`` base candles without a close."""
    snapshot_warnings: tuple[str, ...]

    def stale(self, limit_s: int) -> bool:
        """Older than both ``limit_s`` (``risk.stale_data_s``) and the snapshot's own rule: an hour-old
        close is the freshest a 1h series has, and a proposal lives for days."""
        return self.data_age_s > max(limit_s, self.stale_after_s)


def market_facts(snapshot: MarketSnapshot, *, spread_pct: float | None = None) -> MarketFacts:
    """Raises :class:`NotEnoughMarketData` when no timeframe has an ATR yet."""
    summary = _atr_summary(snapshot)
    if summary is None or summary.indicators.atr is None:
        raise NotEnoughMarketData(f"{snapshot.symbol}: no ATR on any timeframe yet (not enough history)")
    price = snapshot.last_price.price
    atr = summary.indicators.atr
    indicators = summary.indicators
    regime = snapshot.regime
    return MarketFacts(
        symbol=snapshot.symbol,
        as_of=snapshot.as_of,
        price=price,
        atr=atr,
        atr_timeframe=summary.timeframe,
        atr_pct=100.0 * atr / price,
        preferred_timeframe=summary.timeframe == ATR_TIMEFRAMES[0],
        realized_vol_pct=indicators.realized_vol_pct,
        volume_24h_quote=_daily_quote_volume(snapshot),
        spread_pct=spread_pct,
        regime=regime.label if regime is not None else None,
        regime_probability=regime.probabilities.get(regime.label) if regime is not None else None,
        support=_level(summary.last_closed.close, indicators.dist_low_pct),
        resistance=_level(summary.last_closed.close, indicators.dist_high_pct),
        data_age_s=snapshot.data_age_s,
        stale_after_s=STALE_AFTER_CANDLES * timeframe_seconds(snapshot.base_timeframe),
        snapshot_warnings=snapshot.warnings,
    )


def _atr_summary(snapshot: MarketSnapshot) -> TimeframeSummary | None:
    for timeframe in (*ATR_TIMEFRAMES, snapshot.base_timeframe):
        summary = snapshot.timeframe(timeframe)
        if summary is not None and summary.indicators.atr is not None:
            return summary
    return None


def _daily_quote_volume(snapshot: MarketSnapshot) -> float | None:
    daily = snapshot.timeframe("1d")
    if daily is None:
        return None
    return daily.last_closed.volume * daily.last_closed.close


def _level(close: float, distance_pct: float | None) -> float | None:
    """The price ``distance_pct`` away from ``close`` (the snapshot's ``100 * (close / level - 1)``)."""
    if distance_pct is None:
        return None
    return close / (1.0 + distance_pct / 100.0)


def return_correlation(closes_a: Sequence[float], closes_b: Sequence[float]) -> float | None:
    """Pearson correlation of the log returns of two aligned close series; ``None`` when undefined
    (fewer than 3 returns, or a series that did not move)."""
    if len(closes_a) != len(closes_b):
        raise ValueError("close series must be aligned (same length)")
    ra = [math.log(b / a) for a, b in itertools.pairwise(closes_a)]
    rb = [math.log(b / a) for a, b in itertools.pairwise(closes_b)]
    if len(ra) < 3:
        return None
    mean_a, mean_b = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(ra, rb, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in ra)
    var_b = sum((y - mean_b) ** 2 for y in rb)
    if var_a <= 0 or var_b <= 0:
        return None
    return cov / math.sqrt(var_a * var_b)
