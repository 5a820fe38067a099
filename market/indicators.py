"""Technical indicators as small vectorized pandas/numpy functions (no indicator library).

Why our own: each formula is a few lines, a library (TA-Lib, pandas-ta) would add a compiled or
unmaintained dependency for them, and we must know exactly what every value depends on. Every
function here is **causal**: the value at row ``i`` uses rows ``0..i`` only, so a value computed on
a long series equals the value computed on the same series cut at ``i`` (the snapshot's no-look-ahead
guarantee rests on this; ``tests/market/test_snapshot_lookahead.py`` proves it end to end).

Conventions (the ones TA-Lib and most charting tools use):

- **Wilder smoothing** (ATR, RSI): seeded with the simple mean of the first ``n`` values, then
  ``s_t = s_{t-1} + (x_t - s_{t-1}) / n`` (an EMA with ``alpha = 1/n``).
- **ATR(n)**: true range ``max(h-l, |h-c_prev|, |l-c_prev|)`` from the second candle on (the first has
  no previous close), Wilder-smoothed; the first ATR is at row ``n``.
- **RSI(n)**: Wilder-smoothed gains and losses of close-to-close changes; first value at row ``n``;
  100 when there were no losses, 50 when the price did not move at all.
- **EMA(n)**: ``alpha = 2/(n+1)``, seeded with the simple mean of the first ``n`` closes.
- **Realized volatility(n)**: sample standard deviation (ddof=1) of the last ``n`` log returns, per
  candle (not annualized; :func:`annualize_volatility` scales it with 365-day years, crypto trades
  every day).
- **Z-scores** (returns, volume): ``(x_t - mean) / std`` where mean and std (ddof=1) come from the
  ``n`` values *before* ``t``. Excluding ``x_t`` keeps a spike from hiding itself by inflating the std.
  Volume is used as is (not logged), so a z-score threshold reads as "n standard deviations".
- **VWAP**: typical price ``(h+l+c)/3`` weighted by volume. ``rolling_vwap`` over the last ``n`` candles;
  ``session_vwap`` from 00:00 UTC of the candle's day (crypto has no session, the UTC day is the
  convention exchanges and charting tools use). NaN where the window traded no volume.
- **Distance from recent high/low** (percent): ``100 * (close / max(high over n) - 1)`` (<= 0) and
  ``100 * (close / min(low over n) - 1)`` (>= 0), the window including the current candle.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.timeframes import timeframe_seconds

SECONDS_PER_YEAR = 365 * 86400


def simple_returns(close: pd.Series, periods: int = 1) -> pd.Series:
    """``close_t / close_{t-periods} - 1``."""
    return close / close.shift(periods) - 1.0


def log_returns(close: pd.Series, periods: int = 1) -> pd.Series:
    """``ln(close_t / close_{t-periods})``."""
    return pd.Series(np.log(close.to_numpy() / close.shift(periods).to_numpy()), index=close.index)


def seeded_ewm(values: pd.Series, n: int, alpha: float) -> pd.Series:
    """EMA with smoothing ``alpha`` seeded by the mean of the first ``n`` valid values (leading NaN skipped)."""
    if n < 1:
        raise ValueError("window must be at least 1")
    arr = values.to_numpy(dtype="float64")
    valid = np.flatnonzero(~np.isnan(arr))
    out = np.full(arr.shape, np.nan)
    if len(valid) < n:
        return pd.Series(out, index=values.index)
    first = valid[0]
    seed_at = first + n - 1
    seeded = arr.copy()
    seeded[:seed_at] = np.nan
    seeded[seed_at] = arr[first : seed_at + 1].mean()
    smoothed = pd.Series(seeded, index=values.index).ewm(alpha=alpha, adjust=False, ignore_na=True).mean()
    smoothed.iloc[:seed_at] = np.nan
    return smoothed


def wilder_smooth(values: pd.Series, n: int) -> pd.Series:
    return seeded_ewm(values, n, alpha=1.0 / n)


def ema(close: pd.Series, n: int) -> pd.Series:
    return seeded_ewm(close, n, alpha=2.0 / (n + 1))


def true_range(high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    """True range; NaN on the first candle (no previous close)."""
    prev_close = close.shift(1)
    ranges = pd.concat([high - low, (high - prev_close).abs(), (low - prev_close).abs()], axis=1)
    tr = ranges.max(axis=1, skipna=False)
    return tr


def atr(high: pd.Series, low: pd.Series, close: pd.Series, n: int = 14) -> pd.Series:
    return wilder_smooth(true_range(high, low, close), n)


def rsi(close: pd.Series, n: int = 14) -> pd.Series:
    delta = close.diff()
    avg_gain = wilder_smooth(delta.clip(lower=0.0), n)
    avg_loss = wilder_smooth((-delta).clip(lower=0.0), n)
    gain, loss = avg_gain.to_numpy(), avg_loss.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 - 100.0 / (1.0 + gain / loss)
    value = np.where((loss == 0) & (gain > 0), 100.0, value)
    value = np.where((loss == 0) & (gain == 0), 50.0, value)
    return pd.Series(value, index=close.index)


def realized_volatility(close: pd.Series, n: int) -> pd.Series:
    """Per-candle standard deviation (ddof=1) of the last ``n`` log returns."""
    return log_returns(close).rolling(n, min_periods=n).std(ddof=1)


def annualize_volatility(per_candle: float, timeframe: str) -> float:
    return per_candle * math.sqrt(SECONDS_PER_YEAR / timeframe_seconds(timeframe))


def rolling_zscore(values: pd.Series, n: int) -> pd.Series:
    """Z-score of each value against the ``n`` values before it (NaN where that std is 0)."""
    prior = values.shift(1).rolling(n, min_periods=n)
    mean, std = prior.mean(), prior.std(ddof=1)
    z = (values - mean) / std.where(std > 0)
    return z


def typical_price(high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    return (high + low + close) / 3.0


def rolling_vwap(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, n: int) -> pd.Series:
    pv = (typical_price(high, low, close) * volume).rolling(n, min_periods=n).sum()
    vol = volume.rolling(n, min_periods=n).sum()
    return pv / vol.where(vol > 0)


def session_vwap(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series) -> pd.Series:
    """VWAP since 00:00 UTC of each candle's day (index must be a UTC DatetimeIndex)."""
    index = pd.DatetimeIndex(high.index)
    day = index.floor("D")
    pv = (typical_price(high, low, close) * volume).groupby(day).cumsum()
    vol = volume.groupby(day).cumsum()
    return pv / vol.where(vol > 0)


def distance_from_high_pct(high: pd.Series, close: pd.Series, n: int) -> pd.Series:
    return 100.0 * (close / high.rolling(n, min_periods=1).max() - 1.0)


def distance_from_low_pct(low: pd.Series, close: pd.Series, n: int) -> pd.Series:
    return 100.0 * (close / low.rolling(n, min_periods=1).min() - 1.0)
