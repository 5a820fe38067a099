"""Resampling 5m -> 1h/4h/1d, checked against Binance's own 1h candles for the same hours."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from market.resample import check_resample, resample_candles


def test_5m_to_1h_equals_binance_1h_candles(btc_5m: pd.DataFrame, btc_1h: pd.DataFrame) -> None:
    hourly = resample_candles(btc_5m, "5m", "1h")
    shared = hourly.loc[btc_1h.index]
    # Hours where Binance had all twelve 5m candles agree exactly on OHLC and to float rounding on volume.
    full = shared["candles"] == 12
    assert full.sum() == len(btc_1h) - 1
    ohlc = ["open", "high", "low", "close"]
    np.testing.assert_array_equal(shared.loc[full, ohlc], btc_1h.loc[full, ohlc])
    np.testing.assert_allclose(shared.loc[full, "volume"], btc_1h.loc[full, "volume"], rtol=1e-9)
    assert shared["complete"].all()


def test_outage_hour_is_partial_not_filled(btc_5m: pd.DataFrame) -> None:
    hourly = resample_candles(btc_5m, "5m", "1h")
    noon = hourly.loc[datetime(2023, 3, 24, 12, tzinfo=UTC)]
    assert noon["candles"] == 8  # 12:00..12:35, then the exchange halted
    assert datetime(2023, 3, 24, 13, tzinfo=UTC) not in hourly.index  # the missing hour stays missing
    assert hourly.attrs["expected_candles"] == 12


def test_partial_last_bucket_is_incomplete(btc_5m: pd.DataFrame) -> None:
    cut = btc_5m.iloc[: 12 * 30 + 5]  # 30 hours and 5 candles
    hourly = resample_candles(cut, "5m", "1h")
    assert hourly["complete"].tolist() == [True] * 30 + [False]
    assert hourly["candles"].iloc[-1] == 5
    daily = resample_candles(cut, "5m", "1d")
    assert daily["complete"].tolist() == [True, False]


def test_completeness_follows_as_of(btc_5m: pd.DataFrame) -> None:
    hourly = resample_candles(btc_5m.iloc[:24], "5m", "1h", as_of=datetime(2023, 3, 18, 1, 30, tzinfo=UTC))
    assert hourly["complete"].tolist() == [True, False]


def test_4h_and_1d_are_utc_aligned(btc_5m: pd.DataFrame) -> None:
    four = resample_candles(btc_5m, "5m", "4h")
    day = resample_candles(btc_5m, "5m", "1d")
    assert (four.index.hour % 4 == 0).all() and (four.index.minute == 0).all()
    assert (day.index.hour == 0).all()
    first_day = btc_5m.loc[btc_5m.index < datetime(2023, 3, 19, tzinfo=UTC)]
    row = day.iloc[0]
    assert row["open"] == first_day["open"].iloc[0]
    assert row["high"] == first_day["high"].max()
    assert row["low"] == first_day["low"].min()
    assert row["close"] == first_day["close"].iloc[-1]
    assert row["volume"] == pytest.approx(first_day["volume"].sum(), rel=1e-12)


@pytest.mark.parametrize(("base", "target"), [("1h", "5m"), ("5m", "7m"), ("1h", "1w")])
def test_non_nesting_timeframes_are_refused(base: str, target: str) -> None:
    with pytest.raises(ValueError):
        check_resample(base, target)
