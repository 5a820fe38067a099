"""A backtest's feed: recorded candles stepped through the engine on a simulated clock and exchange.

Per candle: the clock moves to its open and the simulated exchange sees the bar (pending market orders
fill at the open, stops and take-profits trigger on the range), then the clock moves to its close and
the engine steps on ``CandleClosed``. Only candles: a replay never polls an operator queue or a
derivatives endpoint, so those events (and their store queries) never happen in a backtest.
``engine/wiring.py`` builds it (and warms it up once); ``backtests/runner.py`` drives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from core.clock import SimClock
from core.timeframes import timeframe_seconds
from core.types import Candle
from engine.engine import Engine, StepReport
from engine.events import CandleClosed
from exchange.sim import SimExchange


@dataclass
class CandleReplay:
    engine: Engine
    clock: SimClock
    exchange: SimExchange
    candles: Sequence[Candle]
    """The candles to step, oldest first (the warm-up candles are not among them)."""

    def warm_up(self, candles: Sequence[Candle]) -> None:
        """History before ``candles``: the exchange sees every bar (its last price), the gate its baselines."""
        for candle in candles:
            self.clock.advance_to(candle.open_at)
            self.exchange.on_candle(candle)
        self.engine.gate.warm_up(candles)

    async def step(self, candle: Candle) -> StepReport:
        """One candle: the exchange sees the bar at its open, the engine steps at its close."""
        self.clock.advance_to(candle.open_at)
        self.exchange.on_candle(candle)
        close_at = candle.open_at + timedelta(seconds=timeframe_seconds(candle.timeframe))
        self.clock.advance_to(close_at)
        return await self.engine.step(CandleClosed(at=close_at, candle=candle))

    def fees(self) -> Decimal:
        """Every fee the simulated exchange charged so far, in the quote asset (a spot buy's is charged in the
        base asset bought and valued at its fill price)."""
        markets = self.exchange.markets()
        return sum(
            (
                markets[f.symbol].fee_in_quote(f.fee, f.fee_asset, base_fee=f.base_fee, quantity=f.quantity,
                                               price=f.price)
                for f in self.exchange.fills()
            ),
            Decimal(0),
        )
