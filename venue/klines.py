"""Candles and tickers as far as the replay has played: never a byte from the venue's future.

A complete candle is the file's row. The forming candle is what its played path shows so far: its
open, the high and low of the path points played, the last price as close, and the volume of the
segments played. The fields the files do not have are derived from the same path the trade stream
plays, so REST and websockets agree: quote volume is the sum of each segment's volume times its end
price, the trade count is the number of segments (one trade each), taker-buy volume is the volume of
the segments that went up.

Longer intervals are aggregated from the file's timeframe (whole multiples up to 1d, aligned to the
epoch like Binance; weekly candles start on Monday and are refused).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from core.timeframes import timeframe_seconds
from venue.replay import END_PHASE, SEGMENTS, Replay, Series

BINANCE_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class KlineRow:
    open_ms: int
    close_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int
    taker_buy_volume: float
    taker_buy_quote: float
    closed: bool


def interval_ms(interval: str, base_ms: int) -> int | None:
    """The interval in ms when the venue can serve it from a file of ``base_ms`` candles, else None."""
    if interval not in BINANCE_INTERVALS:
        return None
    value = timeframe_seconds(interval) * 1000
    return value if value >= base_ms and value % base_ms == 0 else None


def candle_row(series: Series, index: int, phases: int, timeframe_ms: int) -> KlineRow:
    """Candle ``index`` after ``phases`` of its steps (``SEGMENTS`` or more: the whole candle)."""
    path = series.path(index)
    played = min(max(phases, 0), SEGMENTS)
    points = path[: played + 1]
    volume = float(series.values[index, 4])
    share = volume / SEGMENTS
    quote = sum(share * p for p in points[1:])
    ups = [b for a, b in pairwise(points) if b > a]
    open_ms = int(series.open_ms[index])
    return KlineRow(
        open_ms=open_ms,
        close_ms=open_ms + timeframe_ms - 1,
        open=points[0],
        high=max(points),
        low=min(points),
        close=points[-1],
        volume=share * played,
        quote_volume=quote,
        trades=played,
        taker_buy_volume=share * len(ups),
        taker_buy_quote=sum(share * p for p in ups),
        closed=phases >= SEGMENTS,
    )


def played_rows(replay: Replay, series: Series, start: int, stop: int) -> list[KlineRow]:
    """Rows ``start .. stop-1`` of ``series`` as played (the forming one partial, nothing beyond it)."""
    forming, phases = replay.position(series.symbol)
    last = forming if phases >= 0 else forming - 1
    rows = []
    for index in range(start, min(stop, last + 1)):
        done = SEGMENTS if index < forming or phases == END_PHASE else phases
        row = candle_row(series, index, done, replay.timeframe_ms)
        rows.append(row if index < forming or phases == END_PHASE else _forming(row))
    return rows


def _forming(row: KlineRow) -> KlineRow:
    return replace(row, closed=False)


def klines(
    replay: Replay,
    series: Series,
    interval: int,
    *,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[KlineRow]:
    """Binance's ``klines`` selection: from ``start_ms`` (the first ``limit``), else the last ``limit`` up
    to ``end_ms`` (default: now); ``interval`` a whole multiple of the file's timeframe."""
    times = series.open_ms
    end = replay.now_ms if end_ms is None else min(end_ms, replay.now_ms)
    if start_ms is not None:  # like Binance, a start before the first candle starts at the first candle
        first = max(_bucket(start_ms, interval), _bucket(int(times[0]), interval))
        lo = int(np.searchsorted(times, first, side="left"))
        hi = int(np.searchsorted(times, min(end, first + limit * interval - 1), side="right"))
    else:
        lo = int(np.searchsorted(times, _bucket(end, interval) - (limit - 1) * interval, side="left"))
        hi = int(np.searchsorted(times, end, side="right"))
    rows = played_rows(replay, series, lo, hi)
    if interval != replay.timeframe_ms:
        rows = aggregate(rows, interval)
    rows = [r for r in rows if (start_ms is None or r.open_ms >= start_ms) and r.open_ms <= end]
    return rows[:limit] if start_ms is not None else rows[-limit:]


def _bucket(at_ms: int, interval: int) -> int:
    return at_ms - at_ms % interval


def aggregate(rows: list[KlineRow], interval: int) -> list[KlineRow]:
    """Rows of the base timeframe merged into ``interval`` buckets. A bucket is closed once a later
    bucket has rows, or when its last base candle (the one ending with it) has closed."""
    merged: list[KlineRow] = []
    group: list[KlineRow] = []
    for row in rows:
        if group and _bucket(row.open_ms, interval) != _bucket(group[0].open_ms, interval):
            merged.append(_merge(group, interval, followed=True))
            group = []
        group.append(row)
    if group:
        merged.append(_merge(group, interval, followed=False))
    return merged


def _merge(group: list[KlineRow], interval: int, *, followed: bool) -> KlineRow:
    open_ms = _bucket(group[0].open_ms, interval)
    last = group[-1]
    complete = last.closed and (followed or last.close_ms >= open_ms + interval - 1)
    return KlineRow(
        open_ms=open_ms,
        close_ms=open_ms + interval - 1,
        open=group[0].open,
        high=max(r.high for r in group),
        low=min(r.low for r in group),
        close=last.close,
        volume=sum(r.volume for r in group),
        quote_volume=sum(r.quote_volume for r in group),
        trades=sum(r.trades for r in group),
        taker_buy_volume=sum(r.taker_buy_volume for r in group),
        taker_buy_quote=sum(r.taker_buy_quote for r in group),
        closed=complete,
    )


def day_window(replay: Replay, series: Series) -> list[KlineRow]:
    """The played candles of the last 24 hours (the rolling window of Binance's 24hr ticker)."""
    times: npt.NDArray[np.int64] = series.open_ms
    lo = int(np.searchsorted(times, replay.now_ms - DAY_MS, side="right"))
    hi = int(np.searchsorted(times, replay.now_ms, side="right"))
    return played_rows(replay, series, lo, hi)

