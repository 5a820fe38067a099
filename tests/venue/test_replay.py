"""The replay and the candles it serves: real candles played as open -> extremes -> close, nothing from the future."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ids import Symbol
from market.candles import load_candles, open_ms
from market.resample import resample_candles
from tests.venue.conftest import KLINES_1M
from venue.klines import candle_row, interval_ms, klines, played_rows
from venue.replay import END_PHASE, PHASES, Replay, Series, candle_path

MINUTE = 60_000
BTC = Symbol("BTC/USDT")


def series_1m() -> Series:
    frame = load_candles(KLINES_1M)
    return Series.from_arrays(BTC, open_ms(frame), frame.to_numpy(dtype="float64"), Decimal("0.01"))


def test_a_candle_that_closed_up_dips_first_and_one_that_closed_down_rallies_first() -> None:
    assert candle_path(100, 110, 90, 105) == (100, 90, 110, 105)
    assert candle_path(100, 110, 90, 95) == (100, 110, 90, 95)


def test_each_candle_is_four_steps_a_quarter_apart_ending_at_its_close() -> None:
    series = series_1m()
    replay = Replay([series], MINUTE, warmup=10)
    assert replay.now_ms == series.open_ms[10]
    steps = [replay.advance()[0] for _ in range(PHASES)]
    assert [s.at_ms - series.open_ms[10] for s in steps] == [0, 15_000, 30_000, 45_000]
    assert [s.phase for s in steps] == [0, 1, 2, 3]
    path = series.path(10)
    assert [float(s.bar.close) for s in steps if s.bar] == pytest.approx(list(path))
    assert steps[0].trade is None and steps[0].bar is not None and steps[0].bar.high == steps[0].bar.low
    traded = sum(s.trade.quantity for s in steps if s.trade)
    assert traded == pytest.approx(series.values[10, 4])
    following = replay.advance()[0]
    assert (following.index, following.phase, following.closed_index) == (11, 0, 10)
    assert following.at_ms == series.open_ms[11]


def test_the_file_s_last_candle_closes_one_timeframe_after_its_open_and_the_replay_ends() -> None:
    series = series_1m()
    replay = Replay([series], MINUTE, warmup=len(series) - 1)
    steps = []
    while (played := replay.advance()):
        steps.extend(played)
    assert steps[-1].phase == END_PHASE and steps[-1].closed_index == len(series) - 1
    assert steps[-1].at_ms == series.open_ms[-1] + MINUTE
    assert replay.finished and replay.progress() == (1, 1)


def test_prices_are_put_on_the_tick_once_when_loaded() -> None:
    frame = load_candles(KLINES_1M)
    series = Series.from_arrays(Symbol("BTC/USDT:USDT"), open_ms(frame), frame.to_numpy(dtype="float64"),
                                Decimal("0.1"))
    ticks = series.values[:, :4] / 0.1
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    assert np.abs(series.values[:, :4] - frame.to_numpy()[:, :4]).max() <= 0.05 + 1e-9
    assert series.price(series.values[0, 0]) == Decimal("9094.2")


def test_served_candles_never_reach_past_the_venue_s_now() -> None:
    series = series_1m()
    replay = Replay([series], MINUTE, warmup=50)
    for _ in range(6):
        replay.advance()
    rows = klines(replay, series, MINUTE, start_ms=None, end_ms=None, limit=1000)
    assert rows[-1].open_ms <= replay.now_ms
    assert rows[-1].open_ms == series.open_ms[51] and not rows[-1].closed
    assert all(r.closed for r in rows[:-1])
    forming = rows[-1]
    path = series.path(51)
    assert (forming.open, forming.close) == pytest.approx((path[0], path[1]))
    assert forming.volume == pytest.approx(series.values[51, 4] / 3)
    asked_later = klines(replay, series, MINUTE, start_ms=int(series.open_ms[60]), end_ms=None, limit=10)
    assert asked_later == []


def test_complete_candles_are_the_file_s_rows() -> None:
    series = series_1m()
    frame = load_candles(KLINES_1M)
    row = candle_row(series, 7, 3, MINUTE)
    assert (row.open, row.high, row.low, row.close, row.volume) == pytest.approx(tuple(frame.iloc[7]))
    assert row.closed and row.trades == 3


def test_longer_intervals_match_the_project_s_own_resampling() -> None:
    series = series_1m()
    replay = Replay([series], MINUTE, warmup=len(series) - 1)
    while replay.advance():
        pass
    rows = klines(replay, series, 15 * MINUTE, start_ms=None, end_ms=None, limit=1000)
    expected = resample_candles(load_candles(KLINES_1M), "1m", "15m")
    complete = expected[expected["complete"]]
    served = pd.DataFrame([(r.open, r.high, r.low, r.close, r.volume) for r in rows if r.closed],
                          columns=["open", "high", "low", "close", "volume"])
    assert len(served) == len(complete)
    assert np.allclose(served.to_numpy(), complete[["open", "high", "low", "close", "volume"]].to_numpy(), atol=1e-6)


def test_only_binance_intervals_that_are_whole_multiples_of_the_file_are_served() -> None:
    assert interval_ms("5m", MINUTE) == 5 * MINUTE
    assert interval_ms("1d", 5 * MINUTE) == 86_400_000
    assert interval_ms("1m", 5 * MINUTE) is None
    assert interval_ms("1w", MINUTE) is None
    assert interval_ms("7m", MINUTE) is None


def test_binance_selection_from_a_start_or_up_to_an_end() -> None:
    series = series_1m()
    replay = Replay([series], MINUTE, warmup=100)
    first = klines(replay, series, MINUTE, start_ms=int(series.open_ms[10]), end_ms=None, limit=3)
    assert [r.open_ms for r in first] == list(series.open_ms[10:13])
    last = klines(replay, series, MINUTE, start_ms=None, end_ms=int(series.open_ms[40]), limit=3)
    assert [r.open_ms for r in last] == list(series.open_ms[38:41])


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(min_value=0, max_value=60), warmup=st.integers(min_value=1, max_value=200))
def test_nothing_served_is_from_after_now_and_the_forming_candle_stays_inside_the_file_s(steps: int, warmup: int) -> None:
    series = SERIES
    replay = Replay([series], MINUTE, warmup=warmup)
    for _ in range(steps):
        replay.advance()
    index, phases = replay.position(BTC)
    rows = played_rows(replay, series, 0, len(series))
    assert all(r.open_ms <= replay.now_ms for r in rows)
    assert len(rows) == (index + 1 if phases >= 0 else index)
    last = rows[-1]
    assert series.values[len(rows) - 1, 2] - 1e-9 <= last.low <= last.high <= series.values[len(rows) - 1, 1] + 1e-9
    assert float(replay.last_price(BTC)) == pytest.approx(last.close)


SERIES = series_1m()


def test_several_symbols_play_in_lockstep() -> None:
    frame = load_candles(KLINES_1M)
    eth = Series.from_arrays(Symbol("ETH/USDT"), open_ms(frame)[5:], frame.to_numpy(dtype="float64")[5:],
                             Decimal("0.01"))
    replay = Replay([SERIES, eth], MINUTE, warmup=50)
    steps = replay.advance()
    assert [(s.symbol, s.at_ms) for s in steps] == [(BTC, SERIES.open_ms[50]), ("ETH/USDT", SERIES.open_ms[50])]
    assert replay.position(Symbol("ETH/USDT")) == (45, 0)
