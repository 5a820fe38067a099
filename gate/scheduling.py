"""Validate and arm the agent's schedule: next check (clamped) and wake conditions (refused with reasons).

Pure functions of their inputs; ``Gate.check_schedule``/``Gate.schedule`` call them with the gate's facts.
Every problem is one line the model can act on, prefixed with where it is (``wake_conditions[1].price``).
A schedule with any problem is refused as a whole, so the agent never runs on half of its plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from core.conditions import (
    CONDITION_KINDS,
    WAKE_CONDITIONS,
    ArmingLimits,
    ConditionProblem,
    MarketFacts,
    WakeCondition,
)
from core.settings import GateSettings


class InvalidSchedule(ValueError):
    """The agent's schedule was refused; ``errors`` are the lines to hand back to it."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    requested_s: int | None
    applied_s: int
    conditions: tuple[WakeCondition, ...]
    notes: tuple[str, ...]


def plan_schedule(
    next_check_seconds: int | None,
    conditions: Sequence[Mapping[str, Any] | WakeCondition],
    *,
    now_ts: float,
    settings: GateSettings,
    facts: Mapping[str, MarketFacts],
    primary_symbol: str,
) -> SchedulePlan | list[str]:
    """The plan to arm, or the list of problems (never both)."""
    errors: list[str] = []
    applied_s, notes = _clamp_next_check(next_check_seconds, settings, errors)
    armed: list[WakeCondition] = []
    if len(conditions) > settings.max_conditions:
        errors.append(f"wake_conditions: {len(conditions)} given, at most {settings.max_conditions} allowed")
    else:
        parsed = _parse(conditions, errors)
        limits = ArmingLimits(
            earliest_at_ts=now_ts + settings.timer_min_s, latest_at_ts=now_ts + settings.condition_max_horizon_s
        )
        for index, condition in enumerate(parsed):
            result = _arm(
                index, condition=condition, facts=facts, primary_symbol=primary_symbol, limits=limits, now_ts=now_ts
            )
            if isinstance(result, str):
                errors.append(result)
            else:
                armed.append(result)
    if errors:
        return errors
    requested = next_check_seconds if isinstance(next_check_seconds, int) else None
    return SchedulePlan(requested_s=requested, applied_s=applied_s, conditions=tuple(armed), notes=tuple(notes))


def _clamp_next_check(value: int | None, settings: GateSettings, errors: list[str]) -> tuple[int, list[str]]:
    low, high = settings.timer_min_s, settings.timer_max_s
    if value is None:
        return high, [f"no next check given: using the longest interval, {high} s"]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors.append(f"next_check_seconds: must be a positive whole number of seconds, got {value!r}")
        return high, []
    if value < low:
        return low, [f"next check {value} s raised to the minimum {low} s"]
    if value > high:
        return high, [f"next check {value} s lowered to the maximum {high} s"]
    return value, []


def _parse(conditions: Sequence[Mapping[str, Any] | WakeCondition], errors: list[str]) -> list[WakeCondition]:
    try:
        return WAKE_CONDITIONS.validate_python(list(conditions))
    except ValidationError as exc:
        errors.extend(_describe(error) for error in exc.errors())
        return []


def _describe(error: ErrorDetails) -> str:
    loc = error["loc"]
    where = f"wake_conditions[{loc[0]}]" if loc else "wake_conditions"
    where += "".join(f".{part}" for part in loc[1:] if part not in CONDITION_KINDS)
    shown = error.get("input")
    got = "" if isinstance(shown, Mapping) or shown is None else f" (got {shown!r})"
    return f"{where}: {error['msg']}{got}"


def _arm(
    index: int,
    *,
    condition: WakeCondition,
    facts: Mapping[str, MarketFacts],
    primary_symbol: str,
    limits: ArmingLimits,
    now_ts: float,
) -> WakeCondition | str:
    where = f"wake_conditions[{index}] ({condition.kind})"
    symbol = condition.symbol or primary_symbol
    if symbol not in facts:
        return f"{where}: unknown symbol {symbol!r}; the gate watches {', '.join(sorted(facts))}"
    market = facts[symbol]
    try:
        armed = condition.model_copy(update={"symbol": symbol}).arm(market, limits)
    except ConditionProblem as problem:
        return f"{where}: {problem}"
    if armed.holds(market.as_observation(now_ts)):
        return (
            f"{where}: {armed.describe()} is already true now ({_now_text(market)}); a condition fires "
            "only when it becomes true, so choose a level beyond the current one"
        )
    return armed


def _now_text(market: MarketFacts) -> str:
    parts = [f"last price {market.last_price:g}" if market.last_price is not None else "no price yet"]
    if market.regime is not None:
        parts.append(f"regime {market.regime}")
    if market.volume_z is not None:
        parts.append(f"volume z {market.volume_z:.2f}")
    if market.position is not None and market.last_price is not None:
        parts.append(f"position P&L {market.position.pnl_pct(market.last_price):+.2f}%")
    return ", ".join(parts)
