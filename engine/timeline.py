"""A backtest's candles as columns: one or several series merged by time, without a ``Candle`` object per candle.

Candles that open at the same moment form a *group*: their bars happen together (the simulated exchange sees
every bar of a group at its open, in the order the series were given), then the engine steps each at its
close, in that same order. The merged index ``m`` runs over every candle of every series in that order.
``candle(m)`` builds the ``Candle`` the per-candle path would have built, only for the candles that are stepped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from core.ids import Symbol
from core.timeframes import ms_to_datetime, timeframe_seconds
from core.types import Candle
from gate.tape import CandleArrays


def candle_arrays(frame: pd.DataFrame) -> CandleArrays:
    """A candle frame (``market.candles`` layout) as float64/int64 columns."""
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    open_ms = np.asarray(frame.index.as_unit("ms").asi8, dtype=np.int64)
    return CandleArrays(open_ms, *(np.ascontiguousarray(values[:, i]) for i in range(5)))


@dataclass(frozen=True)
class Timeline:
    """Several series of one timeframe, merged by open time (ties in series order)."""

    symbols: tuple[Symbol, ...]
    timeframe: str
    series: tuple[CandleArrays, ...]
    which: np.ndarray
    """Per merged index: the series it belongs to."""
    index: np.ndarray
    """Per merged index: the candle's index within its series."""
    open_ms: np.ndarray
    """Per merged index: the candle's open time (ms); non-decreasing."""
    merged: tuple[np.ndarray, ...]
    """Per series: the merged index of each of its candles (increasing)."""

    @classmethod
    def of(cls, series: Sequence[tuple[Symbol, pd.DataFrame]], timeframe: str) -> Timeline:
        if not series:
            raise ValueError("a timeline needs at least one series")
        columns = tuple(candle_arrays(frame) for _, frame in series)
        which = np.concatenate([np.full(len(c), s, dtype=np.int64) for s, c in enumerate(columns)])
        index = np.concatenate([np.arange(len(c), dtype=np.int64) for c in columns])
        open_ms = np.concatenate([c.open_ms for c in columns])
        order = np.lexsort((which, open_ms))  # by open time, then series order
        which, index, open_ms = which[order], index[order], open_ms[order]
        merged = tuple(np.flatnonzero(which == s) for s in range(len(columns)))  # each series stays in its order
        return cls(tuple(symbol for symbol, _ in series), timeframe, columns, which, index, open_ms, merged)

    def __len__(self) -> int:
        return len(self.which)

    @property
    def step(self) -> timedelta:
        return timedelta(seconds=timeframe_seconds(self.timeframe))

    @property
    def close_ts(self) -> np.ndarray:
        """Per merged index: the close time, UNIX seconds (as the gate computes it)."""
        ts: np.ndarray = self.open_ms.astype(np.float64) / 1000.0 + float(timeframe_seconds(self.timeframe))
        return ts

    def candle(self, m: int) -> Candle:
        """The ``Candle`` at merged index ``m``, as ``market.candles.frame_to_candles`` builds it."""
        s, k = int(self.which[m]), int(self.index[m])
        c = self.series[s]
        return Candle(symbol=self.symbols[s], timeframe=self.timeframe, open_at=ms_to_datetime(int(c.open_ms[k])),
                      open=float(c.open[k]), high=float(c.high[k]), low=float(c.low[k]), close=float(c.close[k]),
                      volume=float(c.volume[k]))  # fmt: skip

    def candles(self) -> list[Candle]:
        return [self.candle(m) for m in range(len(self))]

    def group_start(self, m: int) -> int:
        """The first merged index whose candle opens with ``m``'s."""
        return int(np.searchsorted(self.open_ms, self.open_ms[m], side="left"))

    def group_end(self, m: int) -> int:
        """One past the last merged index whose candle opens with ``m``'s (its group)."""
        return int(np.searchsorted(self.open_ms, self.open_ms[m], side="right"))

    def close_at(self, m: int) -> datetime:
        return ms_to_datetime(int(self.open_ms[m])) + self.step

    def seen_before(self, m: int) -> list[int]:
        """Per series: how many of its candles come before merged index ``m``."""
        return [int(np.searchsorted(positions, m)) for positions in self.merged]
