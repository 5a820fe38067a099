"""Wake conditions the agent may set with ``schedule_next_check``.

Interim home: once ``gate/`` lands its wake-condition models replace this one (one definition).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class WakeConditionKind(StrEnum):
    PRICE_ABOVE = "price_above"
    PRICE_BELOW = "price_below"
    MOVE_PCT = "move_pct"
    VOLUME_Z = "volume_z"


class WakeCondition(BaseModel):
    """Wake me early when this happens (the gate evaluates it on every market event)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: WakeConditionKind = Field(
        description=(
            "price_above / price_below: last price crosses `value` (a price). "
            "move_pct: absolute move of `value` % from the price at scheduling time. "
            "volume_z: volume z-score above `value`."
        )
    )
    value: float = Field(gt=0, description="Threshold, in the unit the kind names.")
