"""Events the engine steps on (DESIGN.md's event list). Live loops and the backtest driver produce the same ones.

Every event goes through the whole of ``Engine.step``: operator commands first when the event is
``CommandsPending``, then the safety guard, the gate, the agent on a wake, the learner and the journal.
A backtest feed emits candles only (it never polls a command queue or a derivatives endpoint).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.ids import Symbol
from core.types import Candle
from market.derivatives import DerivativesReading

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


class DerivativesUpdated(BaseModel):
    """A new funding / open-interest / long-short reading for a perpetual (live: the adaptive poller).

    The engine adds it to the symbol's derivatives history, so the next snapshot shows it."""

    model_config = _EVENT

    type: Literal["derivatives_updated"] = "derivatives_updated"
    at: AwareDatetime
    reading: DerivativesReading


class CommandsPending(BaseModel):
    """The operator's command queue holds commands (halt, resume, sleep ...): apply them before anything else.

    The live loop checks the queue before every step and emits this first; the engine applies every pending
    command (through safety's command functions) as the first thing of this step."""

    model_config = _EVENT

    type: Literal["commands_pending"] = "commands_pending"
    at: AwareDatetime
    count: int = Field(ge=1)


Event = Annotated[
    CandleClosed | PriceTick | TimerTick | DerivativesUpdated | CommandsPending, Field(discriminator="type")
]
