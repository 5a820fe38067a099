"""Events the engine steps on. Live loops and the backtest driver produce the same ones."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.ids import Symbol
from core.types import Candle

_EVENT = ConfigDict(frozen=True, extra="forbid")


class CandleClosed(BaseModel):
    """A candle closed at ``at`` (its open time plus its timeframe)."""

    model_config = _EVENT

    type: Literal["candle_closed"] = "candle_closed"
    at: AwareDatetime
    candle: Candle


class PriceTick(BaseModel):
    """A trade or mark price between candle closes (live websocket, or a backtest's intra-bar path)."""

    model_config = _EVENT

    type: Literal["price_tick"] = "price_tick"
    at: AwareDatetime
    symbol: Symbol
    price: float = Field(gt=0)


class TimerTick(BaseModel):
    """The safety loop's and the gate's clock tick (live: every 30 s; no market data implied)."""

    model_config = _EVENT

    type: Literal["timer_tick"] = "timer_tick"
    at: AwareDatetime


Event = Annotated[CandleClosed | PriceTick | TimerTick, Field(discriminator="type")]
