"""What the rules backend reads from a snapshot's JSON form: the signal votes, the last price, ATR %.

The votes are the snapshot's own signal values (``MarketSnapshot.signals``, computed once by
``market.signals``: the agent reads the same numbers), without the directionless ones
(``core.signals.DIRECTIONLESS``: a strength is not a vote for a side). A producer may give a plain
``{signal: vote}`` mapping instead (tests and other feeds do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.signals import DIRECTIONLESS


def last_price(snapshot: Mapping[str, Any]) -> float | None:
    """The last price of a snapshot's JSON form: ``{"last_price": {"price": p, ...}}`` (the market
    package's ``MarketSnapshot``) or a plain number."""
    price = snapshot.get("last_price")
    if isinstance(price, Mapping):
        price = price.get("price")
    return float(price) if isinstance(price, (int, float)) and price > 0 else None


def atr_pct(snapshot: Mapping[str, Any]) -> float | None:
    """ATR as % of price: top-level if given, else the slowest timeframe that has it."""
    top = snapshot.get("atr_pct")
    if isinstance(top, (int, float)):
        return float(top)
    summaries = [s for s in snapshot.get("timeframes", ()) if isinstance(s, Mapping)]
    indicators = summaries[-1].get("indicators") if summaries else None
    value = indicators.get("atr_pct") if isinstance(indicators, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def signal_votes(snapshot: Mapping[str, Any]) -> dict[str, float]:
    """``{signal: vote}`` for every directional signal with a value."""
    values = snapshot.get("signals")
    if not isinstance(values, Mapping):
        return {}
    directionless = {s.value for s in DIRECTIONLESS}
    return {
        str(k): float(v)
        for k, v in values.items()
        if str(k) not in directionless and isinstance(v, (int, float)) and not isinstance(v, bool)
    }
