"""The value of every signal of the closed enum (``core.signals.Signal``) at one snapshot.

Directional signals are votes in [-1, 1] (+ favours long, - favours short, 0 neutral); ``None`` means
the snapshot lacks the data (e.g. ``funding`` on spot). ``volatility_squeeze`` has no direction: it is a
strength in [0, 1] (1: realized volatility at the bottom of its recent range, an expansion is likely,
its direction unknown), so it is shown to the agent but never votes.

Pure functions of the snapshot's JSON form (``MarketSnapshot.model_dump(mode="json")``): the slowest
timeframe's indicators (EMAs, RSI, distances from the recent high and low, realized-volatility rank),
its return and z-scores, the regime and the derivatives view. The snapshot builder fills
``MarketSnapshot.signals`` with :func:`signal_values`; the rules backend votes with exactly those values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.signals import Signal

SQUEEZE_RANK = 0.2
"""Realized volatility in the lowest 20 % of its last 100 bars is a squeeze (strength grows towards 0 %)."""


def clip(value: float, bound: float = 1.0) -> float:
    return max(-bound, min(bound, value))


def signal_values(snapshot: Mapping[str, Any]) -> dict[Signal, float | None]:
    """Every signal, in enum order, with its value (``None``: not enough data)."""
    summary = _slowest(snapshot)
    ind, z = _map(summary.get("indicators")), _map(summary.get("zscores"))
    values: dict[Signal, float | None] = {
        Signal.TREND_FOLLOW: _trend(ind),
        Signal.MOMENTUM: _momentum(summary),
        Signal.MEAN_REVERSION: _mean_reversion(ind),
        Signal.BREAKOUT: _breakout(ind),
        Signal.VOLUME_SPIKE: _volume(z),
        Signal.VOLATILITY_SQUEEZE: _squeeze(ind),
        Signal.REGIME: None,
        Signal.FUNDING: _funding(_map(snapshot.get("derivatives"))),
        Signal.SUPPORT_RESISTANCE: _support_resistance(ind),
    }
    regime = _map(snapshot.get("regime")).get("label")
    trend = values[Signal.TREND_FOLLOW]
    values[Signal.REGIME] = 0.5 * trend if regime == "low_vol" and trend is not None else None
    return {signal: (None if values[signal] is None else round(values[signal] or 0.0, 6)) for signal in Signal}


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


def _squeeze(ind: Mapping[str, Any]) -> float | None:
    rank = _num(ind, "realized_vol_rank")
    if rank is None:
        return None
    return 0.0 if rank >= SQUEEZE_RANK else round((SQUEEZE_RANK - rank) / SQUEEZE_RANK, 6)


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
