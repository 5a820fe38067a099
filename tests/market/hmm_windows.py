"""The training windows a regime tracker fits, for the HMM equality tests and ``python -m benchmarks hmm``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from core.timeframes import ms_to_datetime
from market.regime import RegimeTracker, tracker_from_candles


@dataclass(frozen=True)
class RefitWindow:
    refit_at: datetime
    rows: np.ndarray
    """The finite feature rows the tracker fits at ``refit_at`` (what ``RegimeTracker._fit`` passes on)."""


def refit_windows(tracker: RegimeTracker) -> list[RefitWindow]:
    """Every weekly refit, from the first reference candle to the last, that has enough rows to be fitted: what
    a backtest over the tracker's whole series fits, one window per refit time (``RegimeTracker._fit``'s rows)."""
    close_ms = tracker._close_ms
    schedule = tracker.schedule
    at = schedule.refit_time(ms_to_datetime(int(close_ms[0])))
    last = ms_to_datetime(int(close_ms[-1]))
    found: list[RefitWindow] = []
    while at <= last:
        lo, hi = tracker._train_rows(at)
        rows = tracker._features[lo:hi]
        rows = rows[np.isfinite(rows).all(axis=1)]
        if len(rows) >= schedule.min_train_bars:
            found.append(RefitWindow(at, rows))
        at += schedule.refit_every
    return found


def series_windows(candles: pd.DataFrame, timeframe: str) -> tuple[RegimeTracker, list[RefitWindow]]:
    """The tracker a backtest on ``candles`` builds (1h reference candles, resampled from finer ones) and its
    refit windows."""
    tracker = tracker_from_candles("BTC/USDT", candles, timeframe)  # type: ignore[arg-type]
    return tracker, refit_windows(tracker)
