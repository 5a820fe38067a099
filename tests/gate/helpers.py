"""Builders shared by the gate tests: settings, candles and a gate at a fixed start time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.ids import Symbol
from core.settings import GateSettings, LLMSettings
from core.types import Candle
from engine.gate_cli import load_candles
from gate.budget import BudgetLimits
from gate.gate import Gate
from tests.conftest import SHARED_DATA

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BTC = Symbol("BTC/USDT")
ETH = Symbol("ETH/USDT")
UNLIMITED = BudgetLimits(10**9, 10**9, 10**12, 10**12, 1e9, 1e9)
SPENT = BudgetLimits(0, 0, 0, 0, 0.0, 0.0)
DEFAULT_LIMITS = BudgetLimits.from_settings(LLMSettings())
BTC_5M = SHARED_DATA / "binance_BTC-USDT_5m.csv.gz"
BTC_1M = SHARED_DATA / "binance_BTC-USDT_1m.csv.gz"

_CACHE: dict[Path, list[Candle]] = {}


def real_candles(path: Path) -> list[Candle]:
    """The real series, loaded once per test session (loading 337k candles takes a few seconds)."""
    if path not in _CACHE:
        _CACHE[path] = load_candles(path)
    return _CACHE[path]


def quiet_settings(**overrides: object) -> GateSettings:
    """Settings where only the layers a test switches on can fire: no candle-close timeframes, a far timer."""
    base: dict[str, object] = {
        "candle_close_timeframes": (),
        "timer_min_s": 60,
        "timer_max_s": 30 * 86400,
        "cooldown_s": 0,
        "feed_stale_s": 10 * 86400,
        "anomaly_min_history": 20,
    }
    base.update(overrides)
    return GateSettings.model_validate(base)


def make_gate(
    settings: GateSettings | None = None,
    limits: BudgetLimits = UNLIMITED,
    symbols: tuple[str, ...] = (BTC,),
    started_at: datetime = T0,
) -> Gate:
    return Gate(settings or quiet_settings(), limits, symbols=symbols, started_at=started_at)


def candle(
    minute: int,
    close: float,
    *,
    symbol: str = BTC,
    timeframe: str = "5m",
    volume: float = 100.0,
    high: float | None = None,
    low: float | None = None,
    start: datetime = T0,
) -> Candle:
    """A 5m candle opening ``minute`` minutes after ``start``; open = close unless high/low say otherwise."""
    hi = max(close, high) if high is not None else close
    lo = min(close, low) if low is not None else close
    return Candle(
        symbol=Symbol(symbol),
        timeframe=timeframe,
        open_at=start + timedelta(minutes=minute),
        open=close,
        high=hi,
        low=lo,
        close=close,
        volume=volume,
    )


def wiggle(n: int, *, start_minute: int = 0, base: float = 100.0, step_minutes: int = 5) -> list[Candle]:
    """``n`` calm candles alternating +-0.1 % around ``base`` (a baseline with a known, small spread)."""
    return [
        candle(start_minute + i * step_minutes, base * (1.001 if i % 2 else 0.999), volume=100.0 + (i % 3))
        for i in range(n)
    ]
