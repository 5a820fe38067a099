"""Plain-value builders shared by the tools and agent tests."""

from __future__ import annotations

from datetime import UTC, datetime

from core.ids import Symbol
from core.types import DecisionRequest, WakeKind, WakeReason

AT = datetime(2024, 3, 1, 12, tzinfo=UTC)


def make_snapshot(price: float = 50_000.0) -> dict[str, object]:
    return {
        "symbol": "BTC/USDT",
        "as_of": AT.isoformat(),
        "last_price": price,
        "atr_pct": 1.5,
        "signals": {"trend_follow": 0.8, "momentum": 0.6, "mean_reversion": -0.1},
        "regime": {"label": "bull_quiet", "probability": 0.8},
    }


def make_request(snapshot: dict[str, object] | None = None) -> DecisionRequest:
    snap = snapshot or make_snapshot()
    return DecisionRequest(
        wake=WakeReason(kind=WakeKind.CANDLE_CLOSE, detail="4h close", at=AT, symbol=Symbol("BTC/USDT")),
        symbol=Symbol("BTC/USDT"),
        as_of=AT,
        snapshot=snap,
        snapshot_prompt="BTC/USDT last 50000",
        snapshot_digest="d" * 64,
    )
