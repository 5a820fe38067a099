"""Signal evidence for the rules backend: a vote in [-1, 1] per ``core.types.Signal`` (+ favours long).

Pure functions of the snapshot's JSON form (``market.snapshot.MarketSnapshot``): the slowest
timeframe's indicators (EMAs, RSI, distances from recent high/low, VWAP distance), its return
and z-scores, the regime and the derivatives view. A producer may also put explicit votes in a
top-level ``signals`` mapping; those win (tests and other feeds use it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.types import Signal


def last_price(snapshot: Mapping[str, Any]) -> float | None:
    """The last price of a snapshot's JSON form: ``{"last_price": {"price": p, ...}}`` (the market
    package's ``MarketSnapshot``) or a plain number."""
    price = snapshot.get("last_price")
    if isinstance(price, Mapping):
        price = price.get("price")
    return float(price) if isinstance(price, (int, float)) and price > 0 else None


def clip(value: float, bound: float = 1.0) -> float:
    return max(-bound, min(bound, value))


def atr_pct(snapshot: Mapping[str, Any]) -> float | None:
    """ATR as % of price: top-level if given, else the slowest timeframe that has it."""
    top = snapshot.get("atr_pct")
    if isinstance(top, (int, float)):
        return float(top)
    summary = _slowest(snapshot)
    value = _num(_map(summary.get("indicators")), "atr_pct")
    return value


def signal_votes(snapshot: Mapping[str, Any]) -> dict[str, float]:
    explicit = snapshot.get("signals")
    if isinstance(explicit, Mapping):
        return {str(k): float(v) for k, v in explicit.items() if isinstance(v, (int, float))}
    summary = _slowest(snapshot)
    ind, z = _map(summary.get("indicators")), _map(summary.get("zscores"))
    votes = {
        Signal.TREND_FOLLOW: _trend(ind),
        Signal.MOMENTUM: _momentum(summary),
        Signal.MEAN_REVERSION: _mean_reversion(ind),
        Signal.BREAKOUT: _breakout(ind),
        Signal.VOLUME_SPIKE: _volume(z),
        Signal.SUPPORT_RESISTANCE: _support_resistance(ind),
        Signal.FUNDING: _funding(_map(snapshot.get("derivatives"))),
    }
    regime = _map(snapshot.get("regime")).get("label")
    trend = votes[Signal.TREND_FOLLOW]
    votes[Signal.REGIME] = 0.5 * trend if regime == "low_vol" and trend is not None else None
    return {s.value: round(v, 6) for s, v in votes.items() if v is not None}


def _trend(ind: Mapping[str, Any]) -> float | None:
    fast, slow = _num(ind, "ema_fast"), _num(ind, "ema_slow")
    if fast is None or slow is None or slow <= 0:
        return None
    return clip((fast / slow - 1) * 100 / 2)  # a 2 % spread between the EMAs is a full vote


def _momentum(summary: Mapping[str, Any]) -> float | None:
    ret = _num(summary, "return_pct")
    return None if ret is None else clip(ret / 3)


def _mean_reversion(ind: Mapping[str, Any]) -> float | None:
    rsi = _num(ind, "rsi")
    if rsi is None or 35 <= rsi <= 65:
        return None if rsi is None else 0.0
    return clip((50 - rsi) / 25)


def _breakout(ind: Mapping[str, Any]) -> float | None:
    high, low = _num(ind, "dist_high_pct"), _num(ind, "dist_low_pct")
    if high is None or low is None:
        return None
    if high > -0.25:
        return 1.0
    if low < 0.25:
        return -1.0
    return 0.0


def _volume(z: Mapping[str, Any]) -> float | None:
    volume_z, return_z = _num(z, "volume_z"), _num(z, "return_z")
    if volume_z is None or return_z is None or volume_z < 2:
        return None if volume_z is None else 0.0
    return clip(volume_z / 4) * (1 if return_z > 0 else -1)


def _support_resistance(ind: Mapping[str, Any]) -> float | None:
    high, low, rsi = _num(ind, "dist_high_pct"), _num(ind, "dist_low_pct"), _num(ind, "rsi")
    if high is None or low is None or rsi is None:
        return None
    if low < 1.0 and rsi < 40:
        return 0.7
    if high > -1.0 and rsi > 60:
        return -0.7
    return 0.0


def _funding(derivatives: Mapping[str, Any]) -> float | None:
    rate = _num(derivatives, "funding_rate")
    return None if rate is None else clip(-rate / 0.0005)  # crowded longs pay: lean short


def _slowest(snapshot: Mapping[str, Any]) -> Mapping[str, Any]:
    summaries = [s for s in snapshot.get("timeframes", ()) if isinstance(s, Mapping)]
    return summaries[-1] if summaries else {}


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _num(mapping: Mapping[str, Any], key: str) -> float | None:
    value = mapping.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
