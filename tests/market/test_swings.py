"""The swing points of a snapshot come from pivots judged once per frame (``market.frames.pivots``): they are
exactly what judging the last ``SWING_LOOKBACK`` closed bars at each snapshot gives (the per-snapshot
computation below, as the builder did it before), on every bar of real series and on arbitrary ones with ties
and gaps (NaN)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ids import Symbol
from market.builder import SnapshotBuilder
from market.frames import SWING_BARS, SWING_LOOKBACK, SWINGS_KEPT, pivots, swings
from tests.market.conftest import BTC_5M, cached_candles


def reference_swings(values: np.ndarray, last: int, *, highest: bool) -> list[int]:
    """Indices of the last ``SWINGS_KEPT`` pivots among bars ``[last + 1 - SWING_LOOKBACK, last]``, judged on
    that window alone."""
    start = max(0, last + 1 - SWING_LOOKBACK)
    window = values[start : last + 1]
    found = []
    for j in range(SWING_BARS, len(window) - SWING_BARS):
        sides = [window[j + k] for k in range(-SWING_BARS, SWING_BARS + 1) if k != 0]
        if all((window[j] > s) if highest else (window[j] < s) for s in sides):
            found.append(start + j)
    return found[-SWINGS_KEPT:]


def picked(values: np.ndarray, last: int, *, highest: bool) -> list[int]:
    """What ``swings`` picks, as indices, on a bare series."""
    judged = pivots(values, highest=highest)
    first, stop = max(0, last + 1 - SWING_LOOKBACK) + SWING_BARS, last + 1 - SWING_BARS
    return [int(i) for i in np.flatnonzero(judged[first:stop])[-SWINGS_KEPT:] + first] if stop > first else []


def test_every_snapshot_of_real_5m_candles_has_the_swings_of_its_own_window() -> None:
    builder = SnapshotBuilder(Symbol("BTC/USDT"), cached_candles(BTC_5M), "5m")
    checked = 0
    for frame in (builder.frame(tf) for tf in builder.timeframes):
        for column, highest in ((1, True), (2, False)):
            values = frame.ohlcv[:, column]
            for last in range(len(values)):
                points = swings(frame, last, column=column, highest=highest)
                got = [int(np.searchsorted(frame.open_ms, int(p.at.timestamp() * 1000))) for p in points]
                assert got == reference_swings(values, last, highest=highest), (frame.timeframe, last)
                checked += len(got)
    assert checked > 1000, "the series has swings to compare"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([1.0, 2.0, 3.0, float("nan")]), min_size=0, max_size=80), st.data())
def test_ties_and_gaps_give_the_same_pivots(raw: list[float], data: st.DataObject) -> None:
    values = np.array(raw, dtype="float64")
    last = data.draw(st.integers(min_value=0, max_value=max(0, len(values) - 1)))
    for highest in (True, False):
        assert picked(values, last, highest=highest) == reference_swings(values, last, highest=highest)
