"""Indicators against values computed by hand from the real BTC/USDT 1h candles of 2023-03-23.

Rows used (from tests/fixtures/market/binance_BTC-USDT_1h_2023-03-23.csv):

    row  open      high      low       close     volume
    0    27250.97  27428.69  27195.63  27322.28  4717.70531
    1    27322.27  27322.28  27105.0   27150.91  3417.24968
    2    27150.91  27346.16  27144.62  27346.16  2625.40512
    3    27346.16  27415.64  27299.0   27356.78  3160.40704
    4    27356.79  27420.0   27258.0   27275.16  2590.69823
    5    27275.16  27700.0   27274.77  27629.18  5276.55365

Small windows (n=2 or 3) keep the arithmetic writable below; a second set of tests compares the
vectorized code with a plain loop over the whole file at the default windows.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from market import indicators as ind
from market.features import FEATURE_COLUMNS, FeatureConfig, indicator_frame

C = [27322.28, 27150.91, 27346.16, 27356.78, 27275.16, 27629.18]
H = [27428.69, 27322.28, 27346.16, 27415.64, 27420.0, 27700.0]
L = [27195.63, 27105.0, 27144.62, 27299.0, 27258.0, 27274.77]
V = [4717.70531, 3417.24968, 2625.40512, 3160.40704, 2590.69823, 5276.55365]


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def test_fixture_rows_are_the_ones_written_above(btc_1h: pd.DataFrame) -> None:
    assert btc_1h["close"].iloc[:6].tolist() == C
    assert btc_1h["high"].iloc[:6].tolist() == H
    assert btc_1h["low"].iloc[:6].tolist() == L
    assert btc_1h["volume"].iloc[:6].tolist() == V


def test_returns(btc_1h: pd.DataFrame) -> None:
    assert math.isnan(ind.simple_returns(btc_1h["close"]).iloc[0])
    assert ind.simple_returns(btc_1h["close"]).iloc[1] == approx(27150.91 / 27322.28 - 1)
    assert ind.log_returns(btc_1h["close"]).iloc[2] == approx(math.log(27346.16 / 27150.91))


def test_true_range_and_wilder_atr(btc_1h: pd.DataFrame) -> None:
    tr = ind.true_range(btc_1h["high"], btc_1h["low"], btc_1h["close"])
    assert math.isnan(tr.iloc[0])
    assert tr.iloc[1] == approx(27322.28 - 27105.0)  # 217.28: high-low (= high - prev close)
    assert tr.iloc[2] == approx(27346.16 - 27144.62)  # 201.54
    assert tr.iloc[3] == approx(27415.64 - 27299.0)  # 116.64
    assert tr.iloc[4] == approx(27420.0 - 27258.0)  # 162.00
    assert tr.iloc[5] == approx(27700.0 - 27274.77)  # 425.23
    atr = ind.atr(btc_1h["high"], btc_1h["low"], btc_1h["close"], n=3)
    assert atr.iloc[:3].isna().all()
    first = (217.28 + 201.54 + 116.64) / 3  # 178.4867: mean of the first three true ranges
    assert atr.iloc[3] == pytest.approx(first, rel=1e-12)
    assert atr.iloc[4] == pytest.approx((2 * first + 162.0) / 3, rel=1e-12)  # 172.9911


def test_wilder_rsi(btc_1h: pd.DataFrame) -> None:
    rsi = ind.rsi(btc_1h["close"], n=3)
    # changes: -171.37, +195.25, +10.62, -81.62
    gain, loss = (195.25 + 10.62) / 3, 171.37 / 3
    assert rsi.iloc[:3].isna().all()
    assert rsi.iloc[3] == pytest.approx(100 - 100 / (1 + gain / loss), rel=1e-9)  # 54.57
    gain, loss = (2 * gain + 0.0) / 3, (2 * loss + 81.62) / 3
    assert rsi.iloc[4] == pytest.approx(100 - 100 / (1 + gain / loss), rel=1e-9)  # 41.21


def test_rsi_edge_cases() -> None:
    rising = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    flat = pd.Series([1.0] * 5)
    assert ind.rsi(rising, 3).iloc[-1] == 100.0
    assert ind.rsi(flat, 3).iloc[-1] == 50.0


def test_ema_seeded_with_simple_mean(btc_1h: pd.DataFrame) -> None:
    ema = ind.ema(btc_1h["close"], 3)
    seed = (27322.28 + 27150.91 + 27346.16) / 3  # 27273.1167
    assert ema.iloc[:2].isna().all()
    assert ema.iloc[2] == pytest.approx(seed, rel=1e-12)
    assert ema.iloc[3] == pytest.approx(seed + 0.5 * (27356.78 - seed), rel=1e-12)  # alpha = 2/(3+1)


def test_realized_volatility(btc_1h: pd.DataFrame) -> None:
    rv = ind.realized_volatility(btc_1h["close"], 3)
    logs = [math.log(C[i] / C[i - 1]) for i in (1, 2, 3)]
    assert rv.iloc[3] == pytest.approx(statistics.stdev(logs), rel=1e-9)
    assert rv.iloc[:3].isna().all()
    assert ind.annualize_volatility(0.01, "1h") == pytest.approx(0.01 * math.sqrt(8760))


def test_zscores_exclude_the_current_value(btc_1h: pd.DataFrame) -> None:
    z = ind.rolling_zscore(btc_1h["volume"], 3)
    prior = V[1:4]
    assert z.iloc[4] == pytest.approx((V[4] - statistics.mean(prior)) / statistics.stdev(prior), rel=1e-9)
    assert z.iloc[:3].isna().all()
    logs = np.log(np.array(C[1:5]) / np.array(C[0:4]))
    rz = ind.rolling_zscore(ind.log_returns(btc_1h["close"]), 3)
    assert rz.iloc[4] == pytest.approx((logs[3] - logs[:3].mean()) / logs[:3].std(ddof=1), rel=1e-9)


def test_vwap_rolling_and_session(btc_1h: pd.DataFrame) -> None:
    tp = [(H[i] + L[i] + C[i]) / 3 for i in range(6)]
    h, lo, c, v = btc_1h["high"], btc_1h["low"], btc_1h["close"], btc_1h["volume"]
    rolling = ind.rolling_vwap(h, lo, c, v, 2)
    assert rolling.iloc[1] == pytest.approx((tp[0] * V[0] + tp[1] * V[1]) / (V[0] + V[1]), rel=1e-12)
    session = ind.session_vwap(h, lo, c, v)
    assert session.iloc[2] == pytest.approx(sum(tp[i] * V[i] for i in range(3)) / sum(V[:3]), rel=1e-12)
    # Row 24 is 2023-03-24T00:00: a new UTC day, so the session VWAP restarts at that candle's price.
    row = btc_1h.iloc[24]
    assert btc_1h.index[24].hour == 0
    assert session.iloc[24] == pytest.approx((row["high"] + row["low"] + row["close"]) / 3, rel=1e-12)


def test_distance_from_recent_high_and_low(btc_1h: pd.DataFrame) -> None:
    hi = ind.distance_from_high_pct(btc_1h["high"], btc_1h["close"], 3)
    lo = ind.distance_from_low_pct(btc_1h["low"], btc_1h["close"], 3)
    assert hi.iloc[5] == pytest.approx(100 * (27629.18 / 27700.0 - 1), rel=1e-12)  # -0.2557 %
    assert lo.iloc[5] == pytest.approx(100 * (27629.18 / 27258.0 - 1), rel=1e-12)  # +1.3617 %


# ---------------------------------------------------------------- whole file against plain loops


def _loop_wilder(values: list[float], n: int) -> list[float]:
    out = [math.nan] * len(values)
    start = next(i for i, x in enumerate(values) if not math.isnan(x))
    avg = sum(values[start : start + n]) / n
    out[start + n - 1] = avg
    for i in range(start + n, len(values)):
        avg = avg + (values[i] - avg) / n
        out[i] = avg
    return out


def test_atr_and_rsi_match_plain_loops_at_default_windows(btc_1h: pd.DataFrame) -> None:
    h, lo, c = btc_1h["high"].tolist(), btc_1h["low"].tolist(), btc_1h["close"].tolist()
    tr = [math.nan] + [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, len(c))]
    np.testing.assert_allclose(ind.atr(btc_1h["high"], btc_1h["low"], btc_1h["close"]), _loop_wilder(tr, 14),
                               rtol=1e-10, equal_nan=True)
    changes = [math.nan] + [c[i] - c[i - 1] for i in range(1, len(c))]
    gains = _loop_wilder([max(x, 0.0) if not math.isnan(x) else math.nan for x in changes], 14)
    losses = _loop_wilder([max(-x, 0.0) if not math.isnan(x) else math.nan for x in changes], 14)
    pairs = zip(gains, losses, strict=True)
    expected = [100 - 100 / (1 + g / loss) if not math.isnan(g) else math.nan for g, loss in pairs]
    np.testing.assert_allclose(ind.rsi(btc_1h["close"]), expected, rtol=1e-10, equal_nan=True)


def test_every_feature_is_causal(btc_1h: pd.DataFrame) -> None:
    """A value at row i is the same whether the series ends at i or continues (no look-ahead)."""
    config = FeatureConfig(zscore_n=10, realized_vol_n=5, ema_slow_n=20, session_vwap=True)
    full = indicator_frame(btc_1h, config)
    assert list(full.columns) == list(FEATURE_COLUMNS)
    for end in (1, 2, 15, 24, 25, 40, len(btc_1h)):
        prefix = indicator_frame(btc_1h.iloc[:end], config)
        pd.testing.assert_frame_equal(prefix, full.iloc[:end], check_exact=True)
