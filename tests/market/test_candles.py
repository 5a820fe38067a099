"""Loading and validating real candle files: gaps reported (never filled), bad data refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from market.candles import (
    CandleDataError,
    candles_to_frame,
    frame_from_arrays,
    frame_to_candles,
    infer_timeframe,
    open_ms,
    read_candles,
    symbol_from_name,
    timeframe_from_name,
    validate_candles,
    write_candles_csv,
)
from tests.market.conftest import BTC_1H, BTC_5M


def test_load_real_5m_file_reports_the_2023_03_24_outage() -> None:
    frame, report = read_candles(BTC_5M)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "open_at"
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert report.timeframe == "5m"
    # The shared README: 16 missing candles in 1 gap (2023-03-24 12:35 to 14:00, exclusive ends).
    assert report.missing_candles == 16
    assert len(report.gaps) == 1
    gap = report.gaps[0]
    assert gap.first_missing == datetime(2023, 3, 24, 12, 40, tzinfo=UTC)
    assert gap.last_missing == datetime(2023, 3, 24, 13, 55, tzinfo=UTC)
    listed = report.missing_open_times()
    assert len(listed) == 16 and listed[0] == gap.first_missing and listed[-1] == gap.last_missing
    assert report.zero_volume_rows == 14  # the README's count for the whole file; all fall in this window
    assert report.rows == 2880 - 16
    # Not filled: no row exists inside the gap.
    assert not ((frame.index > datetime(2023, 3, 24, 12, 35, tzinfo=UTC))
                & (frame.index < datetime(2023, 3, 24, 14, 0, tzinfo=UTC))).any()


def test_load_real_1h_file_values_match_the_csv_text() -> None:
    frame, report = read_candles(BTC_1H)
    assert report.timeframe == "1h" and report.rows == 59 and report.missing_candles == 1
    first_line = BTC_1H.read_text().splitlines()[1].split(",")
    assert int(first_line[0]) == open_ms(frame)[0]
    assert frame.iloc[0].tolist() == [float(x) for x in first_line[1:]]


def test_names_give_symbol_and_timeframe() -> None:
    assert timeframe_from_name("binance_BTC-USDT_5m.csv.gz") == "5m"
    assert symbol_from_name("binance_BTC-USDT_5m.csv.gz") == "BTC/USDT"
    assert symbol_from_name("unknown_XRP-USDT-USDT_1h_futures.csv") == "XRP/USDT:USDT"
    assert timeframe_from_name("binance_BTC-USDT_1h_2023-03-23.csv") == "1h"
    assert symbol_from_name("prices.csv") is None


def test_infer_timeframe_from_steps(btc_1h: pd.DataFrame) -> None:
    assert infer_timeframe(btc_1h) == "1h"


def _frame(times_ms: list[int], rows: list[list[float]]) -> pd.DataFrame:
    return frame_from_arrays(np.array(times_ms), np.array(rows))


GOOD = [100.0, 110.0, 90.0, 105.0, 1.0]


@pytest.mark.parametrize(
    ("times", "rows", "message"),
    [
        ([0, 0], [GOOD, GOOD], "duplicate candle"),
        ([60_000, 0], [GOOD, GOOD], "not in time order"),
        ([30_000, 90_000], [GOOD, GOOD], "not aligned"),
        ([0, 300_000, 600_000], [GOOD, GOOD, GOOD], "5m apart"),
        ([0], [[100.0, 110.0, 90.0, 2e12, 1.0]], "price above"),
        ([0], [[0.0, 110.0, 0.0, 105.0, 1.0]], "zero or negative"),
        ([0], [[100.0, 99.0, 90.0, 105.0, 1.0]], "inconsistent OHLC"),
        ([0], [[100.0, 110.0, 101.0, 105.0, 1.0]], "inconsistent OHLC"),
        ([0], [[100.0, 110.0, 90.0, 105.0, -1.0]], "negative volume"),
        ([0], [[100.0, 110.0, 90.0, float("nan"), 1.0]], "NaN"),
    ],
)
def test_bad_data_is_refused_with_the_reason(times: list[int], rows: list[list[float]], message: str) -> None:
    with pytest.raises(CandleDataError, match=message):
        validate_candles(_frame(times, rows), "1m")


def test_wrong_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x_1m.csv"
    path.write_text("time,o,h,l,c,v\n0,1,1,1,1,1\n")
    with pytest.raises(CandleDataError, match="expected header"):
        read_candles(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(CandleDataError, match="not found"):
        read_candles(tmp_path / "nope.csv")


def test_csv_round_trip_is_exact(tmp_path: Path, btc_1h: pd.DataFrame) -> None:
    for name in ("out_1h.csv", "out_1h.csv.gz"):
        write_candles_csv(btc_1h, tmp_path / name)
        again, _ = read_candles(tmp_path / name)
        pd.testing.assert_frame_equal(again, btc_1h)


def test_candle_models_round_trip(btc_1h: pd.DataFrame) -> None:
    candles = frame_to_candles(btc_1h.iloc[:5], "BTC/USDT", "1h")  # type: ignore[arg-type]
    assert candles[0].open_at == btc_1h.index[0].to_pydatetime()
    back = candles_to_frame(candles)
    pd.testing.assert_frame_equal(back, btc_1h.iloc[:5])
