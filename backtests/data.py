"""Which candles a backtest replays: a file, or a symbol and timeframe found in the bundled data or the
local candle cache (``tradewake data download`` fills it), cut to ``[start, end)``.

Candles are never filled or resampled here; gaps stay gaps (the feed simply has no event there).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from backtests.sources import DEFAULT_CACHE_DIR, locate_candles
from core.errors import ConfigError
from core.ids import Symbol
from market.candles import read_candles, symbol_from_name


@dataclass(frozen=True)
class BacktestData:
    symbol: Symbol
    timeframe: str
    candles: pd.DataFrame
    """UTC DatetimeIndex of open times; columns open, high, low, close, volume (floats)."""
    history: pd.DataFrame
    """Candles of the same file before ``start`` (the past: indicators, regime fits and the gate's
    warm-up may use them; nothing trades on them). Empty when the window starts at the file's start."""
    source: str
    """The file name the candles came from (never a full local path: reports are shareable)."""
    digest: str
    """SHA-256 of the selected rows, so a run names exactly the data it saw."""

    @property
    def all_candles(self) -> pd.DataFrame:
        """History and window together, for the snapshot builders (they never read past ``as_of``)."""
        return pd.concat([self.history, self.candles]) if len(self.history) else self.candles

    @property
    def start(self) -> datetime:
        start: datetime = pd.Timestamp(self.candles.index[0]).to_pydatetime()
        return start

    @property
    def end(self) -> datetime:
        end: datetime = pd.Timestamp(self.candles.index[-1]).to_pydatetime()
        return end


def select_data(
    *,
    data: str | Path | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    min_candles: int = 2,
    warmup: int | None = None,
) -> BacktestData:
    """The candles to replay. ``data`` wins; else ``symbol`` + ``timeframe``; else the bundled BTC/USDT 1h.

    With ``warmup``, the window must hold enough candles for the run: two when the file's history
    before ``start`` covers the warm-up (the runner warms up on it), else ``warmup + 2``.
    """
    path = locate_candles(data, symbol, timeframe, cache_dir)
    frame, report = read_candles(path, timeframe if data is not None else None)
    chosen = Symbol(symbol) if symbol else symbol_from_name(path.name)
    if chosen is None:
        raise ConfigError(f"cannot tell the symbol from {path.name}: pass --symbol")
    history = frame.loc[frame.index < pd.Timestamp(start)] if start is not None else frame.iloc[:0]
    frame = _cut(frame, start, end)
    needed, why = _needed(min_candles, warmup, len(history))
    if len(frame) < needed:
        window = f"[{start.isoformat() if start else '...'}, {end.isoformat() if end else '...'})"
        raise ConfigError(f"{path.name}: {len(frame)} candles in {window}; need at least {needed}{why}")
    return BacktestData(chosen, report.timeframe, frame, history, path.name, frame_digest(frame))


def _needed(min_candles: int, warmup: int | None, history: int) -> tuple[int, str]:
    if warmup is None:
        return min_candles, ""
    if history >= warmup:
        return max(min_candles, 2), ""
    return max(min_candles, warmup + 2), (
        f" (a warm-up of {warmup} candles and some to trade; the file has {history} before --from)"
    )


def _cut(frame: pd.DataFrame, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    if start is not None and end is not None and start >= end:
        raise ConfigError(f"--from {start.isoformat()} is not before --to {end.isoformat()}")
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame.index >= pd.Timestamp(start)
    if end is not None:
        mask &= frame.index < pd.Timestamp(end)
    return frame.loc[mask.to_numpy()]


def frame_digest(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(frame.index.as_unit("ms").asi8.tobytes())
    digest.update(frame.to_numpy(dtype="float64").tobytes())
    return digest.hexdigest()
