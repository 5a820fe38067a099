"""A scripted agent: the plain SMA(fast)/SMA(slow) crossover, acting through the same tools, veto and
safety layer as any model. It exists to cross-check our accounting against backtesting.py (same strategy,
same data, same fees: ``tests/backtests/test_cross_check.py``) and as a no-cost baseline
(``tradewake backtest --agent sma``).

Long only: enter ``size_pct`` of equity at market on a cross up (the stop ``stop_pct`` below the close,
which the safety layer requires), close everything on a cross down. The decision at a candle's close
uses closes up to and including that candle; the order fills at the next candle's open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from agent.records import build_record
from core.decisions import RequestPart
from core.settings import Settings
from core.timeframes import timeframe_seconds
from core.types import Alert, DecisionRecord, DecisionRequest, Signal
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from tools.registry import ToolName

PROMPT_VERSION = "scripted-sma-v1"


@dataclass(frozen=True)
class SmaParams:
    fast: int = 20
    slow: int = 50
    size_pct: float = 95.0
    stop_pct: float = 50.0

    def __post_init__(self) -> None:
        if not 1 <= self.fast < self.slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={self.fast} slow={self.slow}")
        if not 0 < self.stop_pct < 100:
            raise ValueError("stop_pct must be in (0, 100)")


@dataclass(frozen=True)
class _Averages:
    """One market's closes and both moving averages, by candle open time."""

    close: np.ndarray
    fast: np.ndarray
    slow: np.ndarray
    open_ns: np.ndarray

    @classmethod
    def of(cls, candles: pd.DataFrame, params: SmaParams) -> _Averages:
        close = candles["close"]
        return cls(close.to_numpy(dtype="float64"), close.rolling(params.fast).mean().to_numpy(),
                   close.rolling(params.slow).mean().to_numpy(), candles.index.as_unit("ns").asi8)  # fmt: skip


class SmaCrossAgent:
    """An ``AgentBackend`` that trades the crossover of two simple moving averages of the close (each market of
    a portfolio on its own averages)."""

    name = "scripted-sma"
    reads: frozenset[RequestPart] = frozenset()
    """Its own averages, by the request's time and symbol: no snapshot, prompt or book is built for it."""

    def __init__(
        self, desk: TradingDesk, journal: JournalSink, candles: pd.DataFrame | Mapping[str, pd.DataFrame],
        timeframe: str, params: SmaParams,
    ) -> None:
        self.desk = desk
        self.journal = journal
        self.params = params
        markets = candles if isinstance(candles, Mapping) else {"": candles}
        self._markets = {symbol: _Averages.of(frame, params) for symbol, frame in markets.items()}
        self._step = timedelta(seconds=timeframe_seconds(timeframe))

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        session = DecisionSession(request=request, memory_max_chars=0)
        tools = ToolExecutor(self.desk, self.journal, session)
        cross = self._cross(request)
        reasoning = f"sma{self.params.fast}/sma{self.params.slow}: {cross or 'no cross'}"
        if cross is not None:
            holding = await self._holding(tools, request)
            if cross == "up" and not holding:
                await tools.call(ToolName.PLACE_ORDER, self._entry(request), f"{request.as_of.isoformat()}-entry")
            elif cross == "down" and holding:
                args = {"fraction": 1.0, "reason": "fast SMA crossed below slow SMA"}
                await tools.call(ToolName.CLOSE_POSITION, args, f"{request.as_of.isoformat()}-exit")
        return build_record(session, backend=self.name, prompt_version=PROMPT_VERSION, reasoning=reasoning)

    def drain_alerts(self) -> list[Alert]:
        """A script calls no service: nothing to tell a human."""
        return []

    def acts_at(self, symbol: str) -> np.ndarray:
        """The close times (ns) of the candles at which the averages cross (``_cross``'s comparisons on the same
        floats): the only wakes at which it calls a tool (``engine.request.DeclaresActions``)."""
        averages = self._markets.get(symbol) or self._markets.get("")
        if averages is None or len(averages.open_ns) < 2:
            return np.zeros(0, dtype=np.int64)
        gap = averages.fast - averages.slow
        before, now = gap[:-1], gap[1:]
        with np.errstate(invalid="ignore"):
            cross = ((before < 0) & (now > 0)) | ((before > 0) & (now < 0))
        closes: np.ndarray = averages.open_ns[1:][cross] + self._step // timedelta(microseconds=1) * 1000
        return closes

    def _averages(self, request: DecisionRequest) -> _Averages | None:
        return self._markets.get(request.symbol) or self._markets.get("")

    def _cross(self, request: DecisionRequest) -> str | None:
        """``up``/``down`` when the fast SMA crossed the slow one at the candle that just closed."""
        averages = self._averages(request)
        if averages is None:
            return None
        opened = _ns(request.as_of - self._step)
        i = int(np.searchsorted(averages.open_ns, opened))
        if i < 1 or i >= len(averages.open_ns) or averages.open_ns[i] != opened:
            return None
        before = averages.fast[i - 1] - averages.slow[i - 1]
        now = averages.fast[i] - averages.slow[i]
        if np.isnan(before) or np.isnan(now):
            return None
        if before < 0 < now:
            return "up"
        if before > 0 > now:
            return "down"
        return None

    async def _holding(self, tools: ToolExecutor, request: DecisionRequest) -> bool:
        outcome = await tools.call(ToolName.GET_PORTFOLIO, {}, f"{request.as_of.isoformat()}-portfolio")
        portfolio = json.loads(outcome.content).get("portfolio", {})
        positions = portfolio.get("positions", []) + portfolio.get("pending_entries", [])
        return any(p.get("symbol") == request.symbol for p in positions)

    def _entry(self, request: DecisionRequest) -> dict[str, object]:
        averages = self._averages(request)
        assert averages is not None  # a cross was found on them
        opened = _ns(request.as_of - self._step)
        close = Decimal(str(averages.close[int(np.searchsorted(averages.open_ns, opened))]))
        stop = (close * (1 - Decimal(str(self.params.stop_pct)) / 100)).quantize(Decimal("0.00000001"))
        return {
            "side": "long",
            "size_pct": self.params.size_pct,
            "order_type": "market",
            "stop_loss_price": float(stop),
            "signals": [Signal.TREND_FOLLOW.value],
            "confidence": 0.5,
            "thesis": f"SMA{self.params.fast} crossed above SMA{self.params.slow}",
        }


def _ns(at: datetime) -> int:
    """Nanoseconds since the epoch, exactly (integer arithmetic; a pandas Timestamp per decision costs more)."""
    return (at - _EPOCH) // timedelta(microseconds=1) * 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sma_settings(base: Settings, timeframe: str) -> Settings:
    """Limits opened just enough for the crossover (95 % of equity, a 50 % stop, always in or out, every
    loss taken), and a wake at every candle close so no cross goes unseen."""
    risk = base.risk.model_copy(update={
        "max_position_pct": 95.0, "max_total_exposure_pct": 95.0, "stop_max_distance_pct": 60.0,
        "cooldown_after_exit_s": 0, "daily_loss_limit_pct": 100.0, "max_consecutive_losses": 1000,
        "max_trades_per_day": 100,
    })
    gate = base.gate.model_copy(update={"candle_close_timeframes": (timeframe,), "cooldown_s": 0})
    return base.model_copy(update={"risk": risk, "gate": gate})
