"""Tool input models: the field descriptions are the documentation the model reads.

Constraints the strict schema cannot carry (bounds, lengths) are enforced here by pydantic at the
choke point; :mod:`tools.schema` copies them into the descriptions so the model sees them too. The value
types (numbers that refuse booleans, bounded prices) are in :mod:`tools.values`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.types import PositionSide, Signal
from learning.state import check_regime_label
from tools.values import Count, Number, Percent50, Price, SymbolArg
from tools.wake_args import WakeConditionArgs

_INPUT = ConfigDict(frozen=True, extra="forbid")

_SYMBOL = "Market symbol, e.g. BTC/USDT. Omit for the symbol this decision is about."


class GetMarketSnapshot(BaseModel):
    """One symbol now: per timeframe the last bar, indicators and z-scores; last price, regime, derivatives."""

    model_config = _INPUT

    symbol: SymbolArg | None = Field(default=None, description=_SYMBOL)


class GetRegime(BaseModel):
    """The HMM market regime of one symbol: label, state probabilities, when the model was fitted."""

    model_config = _INPUT

    symbol: SymbolArg | None = Field(default=None, description=_SYMBOL)


class GetPortfolio(BaseModel):
    """Your account, as in the book of your first message: caps, fees, positions, pending entries, breakers, fills."""

    model_config = _INPUT


class GetLearnerWeights(BaseModel):
    """How well each signal has worked so far (Beta posterior mean, trades seen), globally or per regime."""

    model_config = _INPUT

    regime: str | None = Field(default=None, description="Regime label for per-regime weights; omit for global.")

    @field_validator("regime")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        return None if value is None else check_regime_label(value)


class PlaceOrder(BaseModel):
    """Open a position. Safety may cap the size or refuse; the refusal's code and reason come back."""

    model_config = _INPUT

    symbol: SymbolArg | None = Field(default=None, description=_SYMBOL)
    side: PositionSide = Field(description="long (buy to open) or short (sell to open; futures only).")
    size_pct: Number = Field(gt=0, le=100, description="Position notional as % of account equity.")
    order_type: Literal["market", "limit"] = Field(description="market fills now; limit waits for limit_price.")
    limit_price: Price | None = Field(default=None, description="Required for limit orders, omitted for market.")
    stop_loss_price: Price = Field(
        description="Protective stop price (required). Below entry for long, above for short, within the stop bounds."
    )
    take_profit_price: Price | None = Field(default=None, description="Optional take-profit price.")
    trailing_activation_pct: Percent50 | None = Field(
        default=None, description="Start trailing once profit reaches this % (with trailing_distance_pct)."
    )
    trailing_distance_pct: Percent50 | None = Field(
        default=None, description="Trail the stop this % behind the best price (with activation)."
    )
    signals: list[Signal] = Field(
        min_length=1, description="The signals this trade relies on (at least one); the learner scores exactly these."
    )
    confidence: Number = Field(ge=0, le=1, description="Your confidence in the trade, 0 to 1.")
    thesis: str = Field(min_length=3, max_length=200, description="One line: why this trade, now.")

    @field_validator("thesis")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("thesis must be one line")
        return value.strip()

    @field_validator("signals")
    @classmethod
    def _distinct(cls, value: list[Signal]) -> list[Signal]:
        if len(set(value)) != len(value):
            raise ValueError("each signal at most once")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> PlaceOrder:
        if self.order_type == "limit" and self.limit_price is None:
            raise ValueError("a limit order needs limit_price")
        if self.order_type == "market" and self.limit_price is not None:
            raise ValueError("a market order takes no limit_price")
        if (self.trailing_activation_pct is None) != (self.trailing_distance_pct is None):
            raise ValueError("give both trailing_activation_pct and trailing_distance_pct, or neither")
        return self


class SpotPlaceOrder(PlaceOrder):
    """``place_order`` as a spot account offers it: long only. Only the schema the model reads comes from
    this model; the choke point validates :class:`PlaceOrder`, so a short that reaches it anyway (a backend
    without strict schemas) meets the veto and its reason (``wrong_market_side``), not a type error."""

    side: Literal[PositionSide.LONG] = Field(  # narrower on purpose: spot is long-only
        description="long (buy to open): this is a spot account, it cannot sell short."
    )


class ClosePosition(BaseModel):
    """Close all or part of the open position (market order, reduce-only)."""

    model_config = _INPUT

    symbol: SymbolArg | None = Field(default=None, description=_SYMBOL)
    fraction: Number = Field(gt=0, le=1, description="Share of the position to close: 1 closes it all.")
    reason: str = Field(min_length=3, max_length=200, description="One line: why close now.")


class AdjustStop(BaseModel):
    """Move the protective stop. Stops only tighten: a looser stop is refused."""

    model_config = _INPUT

    symbol: SymbolArg | None = Field(default=None, description=_SYMBOL)
    stop_price: Price = Field(description="The new stop price.")
    reason: str = Field(min_length=3, max_length=200, description="One line: why this stop.")


class UpdateMemory(BaseModel):
    """Replace your working memory note (kept across decisions). Write the whole note, not a diff."""

    model_config = _INPUT

    text: str = Field(
        description="The full new note: plans, levels to watch, lessons. Never secrets. Size cap in the system prompt."
    )


class ScheduleNextCheck(BaseModel):
    """When to look again, and what should wake you earlier. Always call this last: it ends the decision."""

    model_config = _INPUT

    seconds: Count = Field(gt=0, le=7 * 24 * 3600, description="Seconds until the next scheduled check.")
    wake_conditions: list[WakeConditionArgs] = Field(
        description=(
            "Conditions that should wake you before then (may be empty). Each fires once, when it becomes "
            "true; one that already holds is refused."
        )
    )
    final: bool | None = Field(
        default=None, description="Omit or true to end the decision now; false to keep working after this call."
    )
