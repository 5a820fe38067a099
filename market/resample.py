"""Resampling candle frames to a longer timeframe (e.g. 5m -> 1h, 4h, 1d).

Buckets are aligned to the Unix epoch, which for 1m..1d is exactly how Binance aligns its candles
(days start at 00:00 UTC, 4h candles at 00:00, 04:00, ...). Weekly candles are refused: Binance weeks
start on Monday, the epoch on a Thursday.

A bucket is ``complete`` when its close time is at or before ``as_of`` (default: the close time of
the last base candle): a still-forming bucket is returned but marked incomplete, never presented as
closed. ``candles`` counts the base candles that fell in the bucket; fewer than ``expected`` means
the exchange had a gap there (nothing is filled).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from core.timeframes import datetime_to_ms, timeframe_seconds
from market.candles import COLUMNS, INDEX_NAME, open_ms

RESAMPLED_COLUMNS = (*COLUMNS, "candles", "complete")


def check_resample(base_timeframe: str, target_timeframe: str) -> int:
    """How many base candles make one target candle; raises when the pair does not nest."""
    if target_timeframe.endswith("w"):
        raise ValueError("weekly resampling is not supported (exchange weeks start on Monday, the epoch does not)")
    base_s, target_s = timeframe_seconds(base_timeframe), timeframe_seconds(target_timeframe)
    if target_s < base_s or target_s % base_s:
        raise ValueError(f"cannot resample {base_timeframe} into {target_timeframe}: not a whole multiple")
    return target_s // base_s


def bucket_open_ms(times_ms: np.ndarray, target_timeframe: str) -> np.ndarray:
    step = timeframe_seconds(target_timeframe) * 1000
    buckets: np.ndarray = times_ms - times_ms % step
    return buckets


def resample_candles(
    frame: pd.DataFrame, base_timeframe: str, target_timeframe: str, *, as_of: datetime | None = None
) -> pd.DataFrame:
    """Aggregate ``frame`` (base timeframe) into ``target_timeframe`` candles.

    OHLCV: first open, max high, min low, last close, summed volume. Adds ``candles`` (count of base
    candles) and ``complete`` (bucket closed at or before ``as_of``).
    """
    expected = check_resample(base_timeframe, target_timeframe)
    times = open_ms(frame)
    if as_of is None:
        data_end = int(times[-1]) + timeframe_seconds(base_timeframe) * 1000 if len(times) else 0
    else:
        data_end = datetime_to_ms(as_of)
    buckets = bucket_open_ms(times, target_timeframe)
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]]) if len(times) else np.array([], dtype=int)
    values = frame.to_numpy()
    out = _aggregate(values, starts)
    step = timeframe_seconds(target_timeframe) * 1000
    bucket_times = buckets[starts]
    result = pd.DataFrame(
        out,
        index=pd.DatetimeIndex(pd.to_datetime(bucket_times, unit="ms", utc=True), name=INDEX_NAME),
        columns=list(COLUMNS),
    )
    result["candles"] = np.diff(np.r_[starts, len(times)]).astype("int64")
    result["complete"] = bucket_times + step <= data_end
    result.attrs["expected_candles"] = expected
    return result


def _aggregate(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """OHLCV aggregation over contiguous runs beginning at ``starts`` (vectorized with ``reduceat``)."""
    if len(starts) == 0:
        return np.empty((0, 5))
    ends = np.r_[starts[1:], len(values)] - 1
    return np.column_stack(
        [
            values[starts, 0],
            np.maximum.reduceat(values[:, 1], starts),
            np.minimum.reduceat(values[:, 2], starts),
            values[ends, 3],
            np.add.reduceat(values[:, 4], starts),
        ]
    )


def aggregate_window(values: np.ndarray) -> tuple[float, float, float, float, float]:
    """One OHLCV bar from consecutive base rows (``(n, 5)`` array, n >= 1)."""
    return (
        float(values[0, 0]),
        float(values[:, 1].max()),
        float(values[:, 2].min()),
        float(values[-1, 3]),
        float(values[:, 4].sum()),
    )
