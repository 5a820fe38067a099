"""A timeframe's arrays, as ``SnapshotBuilder`` computes them once (``Frame``), and what a snapshot reads of one
bar: rounded values, the price path, the swing points.

Apart from ``market.builder`` for its length. A frame keeps what consecutive snapshots share (the pivots' indices,
the swing points and the rounded path closes it built): a backtest asks for a snapshot at every wake, and each
new one differs from the last by a bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.timeframes import ms_to_datetime
from market.features import FEATURE_COLUMNS
from market.snapshot import SwingPoint

PATH_BARS = 12
"""Closes per timeframe in the price path (12 x 5m = 1 h, 12 x 1h = half a day, 12 x 4h = 2 days, 12 days)."""
SWING_BARS = 2
"""A swing high/low beats the highs/lows of this many closed bars on each side."""
SWING_LOOKBACK = 60
SWINGS_KEPT = 3
_COL = {name: i for i, name in enumerate(FEATURE_COLUMNS)}
_G_FORMATS = {6: "%.6g", 8: "%.8g", 10: "%.10g"}
"""``round_sig``'s formats, built once: a format spec built per call made the rounding about a third slower."""


@dataclass(frozen=True)
class Frame:
    """One timeframe of a builder: its candles, indicator rows and pivots as arrays, by bar."""

    timeframe: str
    step_ms: int
    open_ms: np.ndarray
    close_ms: np.ndarray
    ohlcv: np.ndarray
    counts: np.ndarray
    expected: int
    features: np.ndarray
    pivot_high: np.ndarray
    """Per bar: its high beats the highs of the ``SWING_BARS`` bars on each side (``pivots``)."""
    pivot_low: np.ndarray
    pivots_at: tuple[np.ndarray, np.ndarray] = field(init=False)
    """The bars where ``pivot_high`` (``[0]``) and ``pivot_low`` (``[1]``) hold, ascending: a snapshot finds the last
    pivots of its window by bisection instead of scanning the window."""
    points: dict[tuple[int, int], SwingPoint] = field(init=False, default_factory=dict)
    """Swing points by (column, bar), built once: consecutive snapshots share most of theirs."""
    rounded_closes: dict[int, float] = field(init=False, default_factory=dict)
    """Closes of the price path by bar, rounded once: consecutive snapshots share all but one."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pivots_at", (np.flatnonzero(self.pivot_high), np.flatnonzero(self.pivot_low)))

    def recent_closes(self, last: int) -> tuple[float, ...]:
        """The ``PATH_BARS`` closes up to bar ``last``, oldest first, each to 8 significant digits."""
        rounded, closes = self.rounded_closes, self.ohlcv[:, 3]
        path = []
        for i in range(max(0, last + 1 - PATH_BARS), last + 1):
            value = rounded.get(i)
            if value is None:
                value = rounded[i] = round_sig(float(closes[i]), 8) or 0.0
            path.append(value)
        return tuple(path)


def swings(frame: Frame, last: int, *, column: int, highest: bool) -> tuple[SwingPoint, ...]:
    """Pivots among the closed bars up to ``last``: a bar whose high (low) beats the ``SWING_BARS`` bars on
    each side (the right-hand ones closed too, so a pivot is only known ``SWING_BARS`` bars later), within the
    last ``SWING_LOOKBACK`` bars. Whether a bar is a pivot depends only on its own neighbours, so the frame
    judges every bar once (``pivots``) and this only picks the last ones whose neighbours are all in range."""
    start = max(0, last + 1 - SWING_LOOKBACK)
    first, stop = start + SWING_BARS, last + 1 - SWING_BARS  # centres whose neighbours are in [start, last]
    if stop <= first:
        return ()
    found_at = frame.pivots_at[0 if highest else 1]
    lo, hi = (int(k) for k in np.searchsorted(found_at, (first, stop)))
    return tuple(swing_point(frame, int(i), column) for i in found_at[max(lo, hi - SWINGS_KEPT) : hi])


def swing_point(frame: Frame, i: int, column: int) -> SwingPoint:
    """The swing point at bar ``i`` (``column`` 1: its high, 2: its low), built once per frame."""
    point = frame.points.get((column, i))
    if point is None:
        price = round_sig(float(frame.ohlcv[i, column]), 8) or 0.0
        point = frame.points[column, i] = SwingPoint(at=ms_to_datetime(int(frame.open_ms[i])), price=price)
    return point


def pivots(values: np.ndarray, *, highest: bool) -> np.ndarray:
    """Per bar, whether it beats (strictly) the ``SWING_BARS`` bars on each side; ``False`` for the bars too near
    either end to have them. NaN never beats and is never beaten (the comparisons are false)."""
    width = 2 * SWING_BARS + 1
    found = np.zeros(len(values), dtype=bool)
    if len(values) < width:
        return found
    windows = np.lib.stride_tricks.sliding_window_view(values, width)
    centre = windows[:, SWING_BARS]
    sides = np.delete(windows, SWING_BARS, axis=1)
    found[SWING_BARS : len(values) - SWING_BARS] = centre > sides.max(axis=1) if highest else centre < sides.min(axis=1)
    return found


def feature(row: np.ndarray, name: str) -> float | None:
    return round_sig(float(row[_COL[name]]), 8)


def round_sig(value: float, significant: int) -> float | None:
    """NaN -> None; otherwise ``significant`` significant digits (compact, stable JSON)."""
    if not math.isfinite(value):
        return None
    return float((_G_FORMATS.get(significant) or f"%.{significant}g") % value)  # what f"{value:.8g}" prints
