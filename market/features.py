"""Per-timeframe indicator frames: every indicator for every candle, computed once, read by index.

The snapshot builder calls :func:`indicator_frame` once per (symbol, timeframe) and then answers each
``build(as_of)`` by looking up one row, which keeps a call in the tens of microseconds per timeframe
however long the series is. All columns are causal (see :mod:`market.indicators`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from market import indicators as ind

FEATURE_COLUMNS = (
    "return_pct",
    "return_z",
    "volume_z",
    "rsi",
    "atr",
    "atr_pct",
    "ema_fast",
    "ema_slow",
    "realized_vol_pct",
    "realized_vol_rank",
    "vwap",
    "vwap_dist_pct",
    "dist_high_pct",
    "dist_low_pct",
)


@dataclass(frozen=True)
class FeatureConfig:
    """Indicator windows, in candles of the timeframe they are computed on.

    Defaults: RSI and ATR 14 (Wilder's own), EMA 20/50 (common fast/slow pair), realized volatility
    and the high/low window over 24 candles (a day of 1h candles), z-scores against the previous 96
    candles (a day of 15m, 8 of 5m, 4 days of 1h), VWAP rolling over 24 candles or, with
    ``session_vwap=True`` (the default for the base timeframe of intraday data), since 00:00 UTC.
    """

    rsi_n: int = 14
    atr_n: int = 14
    ema_fast_n: int = 20
    ema_slow_n: int = 50
    realized_vol_n: int = 24
    zscore_n: int = 96
    vwap_n: int = 24
    high_low_n: int = 24
    vol_rank_n: int = 100
    """Realized volatility is ranked against its own last 100 values (the squeeze signal)."""
    session_vwap: bool = False


def indicator_frame(candles: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """One row per candle with the columns in :data:`FEATURE_COLUMNS` (NaN while warming up)."""
    o, h, lo, c, v = (candles[col] for col in ("open", "high", "low", "close", "volume"))
    del o
    returns = ind.simple_returns(c)
    realized = 100.0 * ind.realized_volatility(c, config.realized_vol_n)
    atr = ind.atr(h, lo, c, config.atr_n)
    vwap = ind.session_vwap(h, lo, c, v) if config.session_vwap else ind.rolling_vwap(h, lo, c, v, config.vwap_n)
    columns = {
        "return_pct": 100.0 * returns,
        "return_z": ind.rolling_zscore(ind.log_returns(c), config.zscore_n),
        "volume_z": ind.rolling_zscore(v, config.zscore_n),
        "rsi": ind.rsi(c, config.rsi_n),
        "atr": atr,
        "atr_pct": 100.0 * atr / c,
        "ema_fast": ind.ema(c, config.ema_fast_n),
        "ema_slow": ind.ema(c, config.ema_slow_n),
        "realized_vol_pct": realized,
        "realized_vol_rank": realized.rolling(config.vol_rank_n).rank(pct=True),
        "vwap": vwap,
        "vwap_dist_pct": 100.0 * (c / vwap - 1.0),
        "dist_high_pct": ind.distance_from_high_pct(h, c, config.high_low_n),
        "dist_low_pct": ind.distance_from_low_pct(lo, c, config.high_low_n),
    }
    frame = pd.DataFrame(columns, index=candles.index)
    return frame.replace([np.inf, -np.inf], np.nan)
