"""Signal votes from the market snapshot's JSON shape."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.signals import atr_pct, last_price, signal_votes


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
        "learner_weights": {},
    }


def test_votes_from_the_slowest_timeframe() -> None:
    votes = signal_votes(market_snapshot())
    assert votes == {"trend_follow": 0.5, "momentum": 0.5, "mean_reversion": 0.0, "breakout": 1.0,
                     "volume_spike": 1.0, "support_resistance": 0.0, "funding": -1.0, "regime": 0.25}
    assert last_price(market_snapshot()) == 100.5 and atr_pct(market_snapshot()) == 1.2


def test_explicit_votes_win_and_missing_data_gives_no_vote() -> None:
    assert signal_votes({"signals": {"breakout": 0.4}}) == {"breakout": 0.4}
    assert signal_votes({"timeframes": []}) == {}
    assert last_price({"last_price": 0}) is None


@given(st.floats(0, 100), st.floats(1, 1e6), st.floats(1, 1e6), st.floats(-50, 0), st.floats(0, 50))
def test_votes_are_bounded(rsi: float, fast: float, slow: float, high: float, low: float) -> None:
    votes = signal_votes(market_snapshot(rsi=rsi, ema_fast=fast, ema_slow=slow, dist_high_pct=high, dist_low_pct=low))
    assert all(-1 <= v <= 1 for v in votes.values())


def test_token_figures_are_consistent() -> None:
    from datetime import UTC, datetime

    from agent.tokens import DEFAULT_DATA, decision_tokens

    figures = decision_tokens(DEFAULT_DATA, datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert figures["cached_prefix_tokens"] > 1024  # above the smallest prompt-cache minimum
    assert figures["decision_input_without_cache"] == (
        figures["decision_cache_write"] + figures["decision_cache_read"] + figures["decision_input_uncached"])
