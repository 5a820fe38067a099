"""What the run mode means for managed holdings, as plain values (:class:`ModePolicy`).

``engine/wiring.py`` (``holdings_config``) fills it in from the run's settings: it is the one module that
names run modes. Holdings code reads the fields and never asks which mode it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.settings import RiskSettings


@dataclass(frozen=True, slots=True)
class ModePolicy:
    label: str
    """The run mode's name, recorded in every proposal (for people)."""
    limits: RiskSettings
    """The limits in force (where real money trades, the stricter of each general and ``mainnet_*`` cap)."""
    cooldown: timedelta
    """No new proposal for this long after an operator rejection."""
    aggressive: bool = True
    """Whether the aggressive variant is offered."""
    min_entry_gap_pct: float | None = None
    """The synthetic entry must be at least this % above the stop. ``None``: proposals keep it
    ``limits.stop_min_distance_pct`` above, an operator's override anywhere above."""
    cap_name: str = "max_position_pct"
    """The limit named when an allocation is capped (``mainnet_max_position_pct`` when that one binds)."""
