"""Wake conditions the agent may set with its schedule: a closed, typed set (the tools read the models, the
gate evaluates them, so they live in core).

``WakeCondition`` is a pydantic union discriminated on ``kind``; the field descriptions are what the
model reads in the tool schema. A condition is *edge-triggered*: it fires once, on the first event at
which its predicate becomes true, and is then disarmed. One that already holds when scheduled could
never become true, so scheduling refuses it with a message that says why (see ``gate.schedule``).

On a candle the price predicates look at the whole bar (``high`` for "above", ``low`` for "below"):
the level was traded during the bar even if the close is back on the other side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from core.types import PositionSide

_CONDITION = ConfigDict(frozen=True, extra="forbid")


class ConditionProblem(ValueError):
    """A condition that is well-formed but cannot be armed now (the message is for the agent)."""


@dataclass(frozen=True, slots=True)
class PositionView:
    """The open position as the gate needs it: the direction and the entry price (a float price path)."""

    side: PositionSide
    entry_price: float

    def pnl_pct(self, price: float) -> float:
        """Unlevered price move in the position's favour, in % of the entry price (before fees)."""
        move = (price - self.entry_price) / self.entry_price * 100.0
        return move if self.side is PositionSide.LONG else -move

    def pnl_range_pct(self, low: float, high: float) -> tuple[float, float]:
        """Worst and best P&L % reached inside a bar."""
        at_low, at_high = self.pnl_pct(low), self.pnl_pct(high)
        return (min(at_low, at_high), max(at_low, at_high))


@dataclass(frozen=True, slots=True)
class Observation:
    """What one event shows the conditions; a field the event does not carry is ``None``."""

    now_ts: float
    symbol: str | None = None
    low: float | None = None
    high: float | None = None
    volume_z: float | None = None
    regime: str | None = None
    position: PositionView | None = None


@dataclass(frozen=True, slots=True)
class MarketFacts:
    """What the gate knows about one symbol when the agent schedules (used to arm and to refuse)."""

    symbol: str
    last_price: float | None
    regime: str | None
    volume_z: float | None
    position: PositionView | None

    def as_observation(self, now_ts: float) -> Observation:
        return Observation(
            now_ts=now_ts,
            symbol=self.symbol,
            low=self.last_price,
            high=self.last_price,
            volume_z=self.volume_z,
            regime=self.regime,
            position=self.position,
        )


@dataclass(frozen=True, slots=True)
class ArmingLimits:
    earliest_at_ts: float
    latest_at_ts: float


class _Condition(BaseModel):
    model_config = _CONDITION

    symbol: str | None = Field(
        default=None, description="Market to watch, e.g. 'BTC/USDT'. Omit for the symbol you are trading."
    )
    note: str = Field(default="", max_length=160, description="One line: why this matters (shown when it fires).")

    def _on(self, obs: Observation) -> bool:
        return obs.symbol is not None and obs.symbol == self.symbol

    def arm(self, facts: MarketFacts, limits: ArmingLimits) -> Self:
        """The condition with references filled in from ``facts``; raises ``ConditionProblem``."""
        del facts, limits
        return self

    def _suffix(self) -> str:
        return f" ({self.note})" if self.note else ""


class PriceAbove(_Condition):
    """Wake when the price trades at or above ``price``."""

    kind: Literal["price_above"] = "price_above"
    price: float = Field(gt=0, description="Price level (quote currency); must be above the current price.")

    def holds(self, obs: Observation) -> bool | None:
        return obs.high >= self.price if obs.high is not None and self._on(obs) else None

    def describe(self) -> str:
        return f"price_above {self.price:g} on {self.symbol}{self._suffix()}"


class PriceBelow(_Condition):
    """Wake when the price trades at or below ``price``."""

    kind: Literal["price_below"] = "price_below"
    price: float = Field(gt=0, description="Price level (quote currency); must be below the current price.")

    def holds(self, obs: Observation) -> bool | None:
        return obs.low <= self.price if obs.low is not None and self._on(obs) else None

    def describe(self) -> str:
        return f"price_below {self.price:g} on {self.symbol}{self._suffix()}"


class MovePct(_Condition):
    """Wake when the price has moved ``pct`` percent from a reference price."""

    kind: Literal["move_pct"] = "move_pct"
    pct: float = Field(gt=0, le=100, description="Size of the move in percent of the reference price, e.g. 1.5.")
    direction: Literal["up", "down", "either"] = Field(default="either", description="Which way the move counts.")
    reference_price: float | None = Field(
        default=None, gt=0, description="Price the move is measured from; omit for the last price when scheduled."
    )

    def holds(self, obs: Observation) -> bool | None:
        if obs.low is None or obs.high is None or self.reference_price is None or not self._on(obs):
            return None
        up = (obs.high / self.reference_price - 1.0) * 100.0 >= self.pct
        down = (1.0 - obs.low / self.reference_price) * 100.0 >= self.pct
        return {"up": up, "down": down, "either": up or down}[self.direction]

    def arm(self, facts: MarketFacts, limits: ArmingLimits) -> Self:
        if self.reference_price is not None:
            return self
        if facts.last_price is None:
            raise ConditionProblem(f"no price seen yet for {facts.symbol}: give reference_price")
        return self.model_copy(update={"reference_price": facts.last_price})

    def describe(self) -> str:
        return f"move_pct {self.direction} {self.pct:g}% from {self.reference_price:g} on {self.symbol}{self._suffix()}"


class VolumeZAbove(_Condition):
    """Wake when a closed candle's volume z-score (against the gate's one-day baseline) reaches ``z``."""

    kind: Literal["volume_z_above"] = "volume_z_above"
    z: float = Field(gt=0, le=50, description="Volume z-score threshold, e.g. 3.")

    def holds(self, obs: Observation) -> bool | None:
        return obs.volume_z >= self.z if obs.volume_z is not None and self._on(obs) else None

    def describe(self) -> str:
        return f"volume_z_above {self.z:g} on {self.symbol}{self._suffix()}"


class RegimeChange(_Condition):
    """Wake when the market regime label differs from ``from_regime``."""

    kind: Literal["regime_change"] = "regime_change"
    from_regime: str | None = Field(
        default=None, min_length=1, max_length=40, description="Regime to leave; omit for the current regime."
    )

    def holds(self, obs: Observation) -> bool | None:
        return obs.regime != self.from_regime if obs.regime is not None and self._on(obs) else None

    def arm(self, facts: MarketFacts, limits: ArmingLimits) -> Self:
        if self.from_regime is not None:
            return self
        if facts.regime is None:
            raise ConditionProblem(f"no regime known yet for {facts.symbol}: give from_regime")
        return self.model_copy(update={"from_regime": facts.regime})

    def describe(self) -> str:
        return f"regime_change from {self.from_regime} on {self.symbol}{self._suffix()}"


class PositionPnlBelow(_Condition):
    """Wake when the open position's P&L (unlevered % of entry, before fees) falls to ``pct`` or below."""

    kind: Literal["position_pnl_below"] = "position_pnl_below"
    pct: float = Field(ge=-100, le=1000, description="P&L threshold in percent of the entry price, e.g. -1.5.")

    def holds(self, obs: Observation) -> bool | None:
        if obs.position is None or obs.low is None or obs.high is None or not self._on(obs):
            return None
        return obs.position.pnl_range_pct(obs.low, obs.high)[0] <= self.pct

    def arm(self, facts: MarketFacts, limits: ArmingLimits) -> Self:
        _require_position(facts)
        return self

    def describe(self) -> str:
        return f"position_pnl_below {self.pct:g}% on {self.symbol}{self._suffix()}"


class PositionPnlAbove(_Condition):
    """Wake when the open position's P&L (unlevered % of entry, before fees) rises to ``pct`` or above."""

    kind: Literal["position_pnl_above"] = "position_pnl_above"
    pct: float = Field(ge=-100, le=1000, description="P&L threshold in percent of the entry price, e.g. 2.")

    def holds(self, obs: Observation) -> bool | None:
        if obs.position is None or obs.low is None or obs.high is None or not self._on(obs):
            return None
        return obs.position.pnl_range_pct(obs.low, obs.high)[1] >= self.pct

    def arm(self, facts: MarketFacts, limits: ArmingLimits) -> Self:
        _require_position(facts)
        return self

    def describe(self) -> str:
        return f"position_pnl_above {self.pct:g}% on {self.symbol}{self._suffix()}"


class AtTime(_Condition):
    """Wake at a given time (UTC), e.g. just after a scheduled macro release."""

    kind: Literal["at_time"] = "at_time"
    at: AwareDatetime = Field(description="When to wake, ISO-8601 with a time zone, e.g. 2025-06-11T12:31:00Z.")

    def holds(self, obs: Observation) -> bool:
        return obs.now_ts >= self.at.timestamp()

    def arm(self, facts: MarketFacts, limits: ArmingLimits) -> Self:
        at_ts = self.at.timestamp()
        if at_ts < limits.earliest_at_ts:
            raise ConditionProblem(
                f"at {self.at.isoformat()} is too soon: the earliest allowed is {_iso(limits.earliest_at_ts)}"
            )
        if at_ts > limits.latest_at_ts:
            raise ConditionProblem(
                f"at {self.at.isoformat()} is too far ahead: the latest allowed is {_iso(limits.latest_at_ts)}"
            )
        return self

    def describe(self) -> str:
        return f"at_time {self.at.isoformat()}{self._suffix()}"


WakeCondition = Annotated[
    PriceAbove | PriceBelow | MovePct | VolumeZAbove | RegimeChange | PositionPnlBelow | PositionPnlAbove | AtTime,
    Field(discriminator="kind"),
]
"""One wake condition; validate lists of them with ``WAKE_CONDITIONS``."""

WAKE_CONDITIONS: TypeAdapter[list[WakeCondition]] = TypeAdapter(list[WakeCondition])
CONDITION_KINDS: tuple[str, ...] = (
    "price_above",
    "price_below",
    "move_pct",
    "volume_z_above",
    "regime_change",
    "position_pnl_below",
    "position_pnl_above",
    "at_time",
)


def _require_position(facts: MarketFacts) -> None:
    if facts.position is None:
        raise ConditionProblem(f"no open position on {facts.symbol}: a position P&L condition needs one")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()
