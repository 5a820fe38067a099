"""The armed wake conditions, each with the truth of its predicate at the last event that could judge it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from core.conditions import Observation, WakeCondition

_ONE: TypeAdapter[WakeCondition] = TypeAdapter(WakeCondition)


@dataclass(slots=True)
class _Armed:
    condition: WakeCondition
    holds: bool = False


class ConditionBook:
    """Edge-triggered evaluation: a condition fires on a false-to-true transition, then is disarmed."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []

    def __bool__(self) -> bool:
        return bool(self._armed)

    def replace(self, conditions: tuple[WakeCondition, ...]) -> None:
        # Scheduling refuses a condition that already holds, so each starts out false.
        self._armed = [_Armed(condition) for condition in conditions]

    def conditions(self) -> tuple[WakeCondition, ...]:
        return tuple(armed.condition for armed in self._armed)

    def evaluate(self, obs: Observation) -> list[WakeCondition]:
        """The conditions that became true at ``obs`` (now disarmed); the others remember their state."""
        fired: list[WakeCondition] = []
        keep: list[_Armed] = []
        for armed in self._armed:
            holds = armed.condition.holds(obs)
            if holds is None:  # this event says nothing about it (other symbol, no price ...)
                keep.append(armed)
            elif holds and not armed.holds:
                fired.append(armed.condition)
            else:
                armed.holds = holds
                keep.append(armed)
        self._armed = keep
        return fired

    def to_state(self) -> list[dict[str, Any]]:
        return [{"condition": a.condition.model_dump(mode="json"), "holds": a.holds} for a in self._armed]

    @classmethod
    def from_state(cls, state: list[dict[str, Any]]) -> ConditionBook:
        book = cls()
        book._armed = [_Armed(_ONE.validate_python(item["condition"]), bool(item["holds"])) for item in state]
        return book
