"""A snapshot from a candle CSV for ``tradewake decide`` (interim, until ``market/`` lands on main).

It produces the JSON shape of ``market.snapshot.MarketSnapshot`` (``last_price`` object, one summary
per timeframe with indicators and z-scores) from candles closed at or before ``at`` only, so the
agent and the rules backend read the same fields they will read from the real builder. When the
market package is on main this module is replaced by ``market.SnapshotBuilder``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.canonical import canonical_json, sha256_hex
from core.errors import ConfigError
from core.ids import Symbol
from core.types import DecisionRequest, WakeKind, WakeReason

MIN_BARS = 60


def load_closed_candles(path: Path, at: datetime) -> tuple[pd.DataFrame, timedelta]:
    """Candles (``timestamp`` ms open time, OHLCV) whose close is at or before ``at``, and the bar length."""
    if not path.is_file():
        raise ConfigError(f"candle file not found: {path}")
    frame = pd.read_csv(path)
    if not {"timestamp", "open", "high", "low", "close", "volume"} <= set(frame.columns):
        raise ConfigError(f"{path}: expected columns timestamp,open,high,low,close,volume")
    frame["open_at"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
    step = frame["open_at"].diff().median()
    closed = frame[frame["open_at"] + step <= pd.Timestamp(at)]
    if len(closed) < MIN_BARS:
        raise ConfigError(f"only {len(closed)} candles closed by {at.isoformat()} in {path}; need {MIN_BARS}")
    return closed.reset_index(drop=True), step.to_pytimedelta()


def snapshot_from_candles(symbol: str, candles: pd.DataFrame, step: timedelta, at: datetime) -> dict[str, Any]:
    close, high, low = candles["close"], candles["high"], candles["low"]
    prev = close.shift()
    true_range = pd.concat([high - low, (high - prev).abs(), (low - prev).abs()], axis=1).max(axis=1)
    gain, loss = close.diff().clip(lower=0), (-close.diff()).clip(lower=0)
    rs = gain.ewm(alpha=1 / 14, adjust=False).mean() / loss.ewm(alpha=1 / 14, adjust=False).mean()
    log_ret = np.log(close).diff()
    last = candles.iloc[-1]
    window = log_ret.iloc[-51:-1]
    volume = candles["volume"].iloc[-51:-1]
    indicators = {
        "rsi": _r(100 - 100 / (1 + rs.iloc[-1])),
        "atr_pct": _r(true_range.ewm(alpha=1 / 14, adjust=False).mean().iloc[-1] / last["close"] * 100),
        "ema_fast": _r(close.ewm(span=12, adjust=False).mean().iloc[-1]),
        "ema_slow": _r(close.ewm(span=26, adjust=False).mean().iloc[-1]),
        "dist_high_pct": _r(100 * (last["close"] / high.iloc[-20:].max() - 1)),
        "dist_low_pct": _r(100 * (last["close"] / low.iloc[-20:].min() - 1)),
    }
    closed_at = (last["open_at"] + step).to_pydatetime()
    return {
        "symbol": symbol,
        "as_of": at.isoformat(),
        "base_timeframe": _tf(step),
        "last_price": {"price": float(last["close"]), "at": closed_at.isoformat(), "source": "closed_candle"},
        "data_age_s": int((at - closed_at).total_seconds()),
        "timeframes": [
            {
                "timeframe": _tf(step),
                "closed_bars": len(candles),
                "return_pct": _r(100 * (last["close"] / candles["close"].iloc[-2] - 1)),
                "indicators": indicators,
                "zscores": {
                    "return_z": _r((log_ret.iloc[-1] - window.mean()) / window.std()),
                    "volume_z": _r((last["volume"] - volume.mean()) / volume.std()),
                },
            }
        ],
        "regime": None,
        "learner_weights": {},
        "warnings": ["interim snapshot (market package not yet on main): one timeframe, no regime"],
    }


def request_for(symbol: str, snapshot: dict[str, Any], at: datetime) -> DecisionRequest:
    text = canonical_json(snapshot)
    return DecisionRequest(
        wake=WakeReason(kind=WakeKind.OPERATOR, detail="tradewake decide", at=at, symbol=Symbol(symbol)),
        symbol=Symbol(symbol),
        as_of=at,
        snapshot=snapshot,
        snapshot_prompt=text,
        snapshot_digest=sha256_hex(text),
    )


def _r(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def _tf(step: timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
