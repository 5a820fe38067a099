"""Signal values from the market snapshot's JSON shape (``market.signals``), and the votes the rules backend
takes from them (``agent.signals``: the same numbers, without the directionless squeeze)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.signals import atr_pct, last_price, signal_votes
from core.signals import Signal
from market.signals import signal_values


def market_snapshot(**ind: float) -> dict[str, Any]:
    indicators = {"rsi": 55.0, "atr_pct": 1.2, "ema_fast": 101.0, "ema_slow": 100.0,
                  "dist_high_pct": -0.1, "dist_low_pct": 6.0, **ind}
    return {
        "symbol": "BTC/USDT",
        "last_price": {"price": 100.5, "at": "2024-03-01T12:00:00+00:00", "source": "closed_candle"},
        "timeframes": [
            {"timeframe": "1h", "return_pct": -9.0, "indicators": {"rsi": 10.0}, "zscores": {}},
            {"timeframe": "4h", "return_pct": 1.5, "indicators": indicators,
             "zscores": {"return_z": 2.5, "volume_z": 4.0}},
        ],
        "regime": {"label": "low_vol", "probabilities": {"low_vol": 0.8, "high_vol": 0.2}},
        "derivatives": {"funding_rate": 0.001},
    }


def test_values_from_the_slowest_timeframe_and_the_rules_votes_are_the_same_numbers() -> None:
    values = signal_values(market_snapshot(realized_vol_rank=0.05))
    assert {k.value: v for k, v in values.items()} == {
        "trend_follow": 0.5, "momentum": 0.5, "mean_reversion": 0.0, "breakout": 1.0, "volume_spike": 1.0,
        "volatility_squeeze": 0.75, "regime": 0.25, "funding": -1.0, "support_resistance": 0.0}
    votes = signal_votes({"signals": {k.value: v for k, v in values.items()}})
    assert votes == {k.value: v for k, v in values.items() if k is not Signal.VOLATILITY_SQUEEZE and v is not None}
    assert last_price(market_snapshot()) == 100.5 and atr_pct(market_snapshot()) == 1.2


def test_a_snapshot_without_data_has_no_value_and_no_vote() -> None:
    values = signal_values({"timeframes": []})
    assert set(values) == set(Signal) and all(v is None for v in values.values())
    assert signal_values(market_snapshot())[Signal.VOLATILITY_SQUEEZE] is None, "no rank, no squeeze"


def test_explicit_votes_win_and_missing_data_gives_no_vote() -> None:
    assert signal_votes({"signals": {"breakout": 0.4}}) == {"breakout": 0.4}
    assert signal_votes({"timeframes": []}) == {}, "no signals in the snapshot: nothing to vote with"
    assert last_price({"last_price": 0}) is None


@given(st.floats(0, 100), st.floats(1, 1e6), st.floats(1, 1e6), st.floats(-50, 0), st.floats(0, 50))
def test_votes_are_bounded(rsi: float, fast: float, slow: float, high: float, low: float) -> None:
    values = signal_values(market_snapshot(rsi=rsi, ema_fast=fast, ema_slow=slow, dist_high_pct=high, dist_low_pct=low))
    assert all(-1 <= v <= 1 for v in values.values() if v is not None)
