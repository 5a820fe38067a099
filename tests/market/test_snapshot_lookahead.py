"""No look-ahead (DESIGN invariant 7): ``build(as_of=t)`` is identical whether or not data after ``t`` exists.

For random ``t`` (aligned to candle boundaries or not, inside the data, in the 2023-03-24 outage, or
after the data ends) three builders must agree exactly, snapshot and digest:

- one on the full real 5m series (with its regime tracker and derivatives history),
- one on the candles *closed* by ``t`` only,
- one on the candles *opened* by ``t`` (so the still-forming candle, whose close lies in the future,
  is present in the data and must be ignored).

And in every snapshot nothing is dated after ``t``: closed bars closed by ``t``, forming bars are
labelled forming and close after ``t``, the last price was observed by ``t``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ids import Symbol
from market.builder import NoDataError, SnapshotBuilder
from market.derivatives import DerivativesHistory, DerivativesReading, load_funding_csv
from market.regime import RegimeSchedule, tracker_from_candles
from market.snapshot import MarketSnapshot
from tests.market.conftest import BTC_5M, XRP_FUNDING, cached_candles

SYMBOL = Symbol("BTC/USDT")
STEP = timedelta(minutes=5)
# A small regime schedule so every example can fit its own model quickly.
SCHEDULE = RegimeSchedule(
    timeframe="15m", window=timedelta(days=3), refit_every=timedelta(days=1), min_train_bars=200
)


def derivatives_history() -> DerivativesHistory:
    """Funding readings every 8 h over the candle range. The rates are the real XRP funding values
    re-stamped onto these dates (no BTC funding recording overlaps the candles); only their order
    in time matters for this test."""
    source = load_funding_csv(XRP_FUNDING, Symbol("XRP/USDT:USDT")).readings
    start = datetime(2023, 3, 18, 0, 0, 7, tzinfo=UTC)
    return DerivativesHistory(
        SYMBOL,
        (
            DerivativesReading(
                symbol=SYMBOL,
                at=start + timedelta(hours=8 * i),
                funding_rate=reading.funding_rate,
                next_funding_at=start + timedelta(hours=8 * (i + 1)),
            )
            for i, reading in enumerate(source[:32])
        ),
    )


def builder_for(candles: pd.DataFrame, history: DerivativesHistory) -> SnapshotBuilder:
    regime = tracker_from_candles(SYMBOL, candles, "5m", SCHEDULE)
    return SnapshotBuilder(SYMBOL, candles, "5m", regime=regime, derivatives=history)


@pytest.fixture(scope="module")
def full() -> tuple[pd.DataFrame, DerivativesHistory, SnapshotBuilder]:
    candles = cached_candles(BTC_5M)
    history = derivatives_history()
    return candles, history, builder_for(candles, history)


FIRST = datetime(2023, 3, 18, tzinfo=UTC)
LAST = datetime(2023, 3, 28, 12, tzinfo=UTC)  # half a day past the data

random_times = st.integers(0, int((LAST - FIRST).total_seconds())).map(lambda s: FIRST + timedelta(seconds=s))
aligned_times = st.integers(0, int((LAST - FIRST) / STEP)).map(lambda k: FIRST + k * STEP)
outage_times = st.integers(0, 3 * 3600).map(lambda s: datetime(2023, 3, 24, 12, tzinfo=UTC) + timedelta(seconds=s))


def assert_nothing_after(snapshot: MarketSnapshot, t: datetime) -> None:
    assert snapshot.as_of == t
    assert snapshot.last_price.at <= t
    for summary in snapshot.timeframes:
        assert summary.last_closed.closed_at <= t
        if summary.forming is not None:
            assert summary.forming.open_at <= t < summary.forming.closes_at
    if snapshot.regime is not None:
        assert snapshot.regime.bar_closed_at <= t and snapshot.regime.fitted_at <= t
    if snapshot.derivatives is not None:
        assert snapshot.derivatives.at <= t


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=st.one_of(random_times, aligned_times, outage_times))
def test_snapshot_is_identical_without_the_future(
    full: tuple[pd.DataFrame, DerivativesHistory, SnapshotBuilder], t: datetime
) -> None:
    candles, history, full_builder = full
    closed = candles[candles.index + STEP <= t]
    opened = candles[candles.index <= t]  # includes the still-forming candle
    past_history = history.until(t)
    if closed.empty:
        with pytest.raises(NoDataError):
            full_builder.build(t)
        return
    expected = full_builder.build(t)
    assert_nothing_after(expected, t)
    for cut in (closed, opened):
        got = builder_for(cut, past_history).build(t)
        assert got == expected
        assert got.digest() == expected.digest()
        assert got.to_prompt() == expected.to_prompt()
