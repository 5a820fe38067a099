"""The closed set of signals (``core.types`` re-exports it; it lives here so the decision views can use it
without importing ``core.types``)."""

from __future__ import annotations

from enum import StrEnum


class Signal(StrEnum):
    """The closed set of signals the agent may cite for an entry; the learner scores exactly these."""

    TREND_FOLLOW = "trend_follow"
    """Price above (long) or below (short) rising/falling EMAs on the higher timeframe."""
    MOMENTUM = "momentum"
    """Recent returns strongly in the trade direction."""
    MEAN_REVERSION = "mean_reversion"
    """Stretched move expected to revert (RSI extreme, distance from VWAP)."""
    BREAKOUT = "breakout"
    """Close through a recent high (long) or low (short)."""
    VOLUME_SPIKE = "volume_spike"
    """Volume z-score far above normal confirming the move."""
    VOLATILITY_SQUEEZE = "volatility_squeeze"
    """Realized volatility compressed, expansion expected."""
    REGIME = "regime"
    """The HMM regime favours the trade (e.g. low-vol trend)."""
    FUNDING = "funding"
    """Funding rate or long/short ratio extreme, positioning against the crowd."""
    SUPPORT_RESISTANCE = "support_resistance"
    """Bounce from a recent low (long) or rejection at a recent high (short)."""


DIRECTIONLESS = frozenset({Signal.VOLATILITY_SQUEEZE})
"""Signals whose value is a strength in [0, 1], not a vote for a side (they never vote)."""
