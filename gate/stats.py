"""Incremental statistics: O(1) per candle, exact JSON round trip.

The anomaly layer scores each closed candle against *exponentially weighted* moments of what came
before it. West's weighted form of Welford's update keeps the variance numerically stable; decaying
every past weight by ``decay`` before adding the new sample (weight 1) gives the exponential window.
While fewer samples than a half-life have arrived, the estimate is the plain average of what was seen
(the weights are normalised by their sum), so the baseline is never biased towards its zero start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def decay_per_step(step_s: float, halflife_s: float) -> float:
    """Weight kept by a past sample per step of ``step_s`` seconds, for a half-life of ``halflife_s``."""
    if step_s <= 0 or halflife_s <= 0:
        raise ValueError("step and half-life must be positive")
    return float(0.5 ** (step_s / halflife_s))


@dataclass(slots=True)
class EwMoments:
    """Exponentially weighted mean and variance of a stream of floats."""

    decay: float
    weight: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    count: int = 0

    def std(self) -> float:
        return math.sqrt(self.m2 / self.weight) if self.weight > 0 and self.m2 > 0 else 0.0

    def zscore(self, value: float) -> float | None:
        """How many baseline standard deviations ``value`` lies from the baseline mean (None: no spread yet)."""
        std = self.std()
        if std <= 0.0:
            return None
        return (value - self.mean) / std

    def update(self, value: float) -> None:
        self.weight = self.decay * self.weight + 1.0
        delta = value - self.mean
        self.mean += delta / self.weight
        self.m2 = self.decay * self.m2 + delta * (value - self.mean)
        self.count += 1

    def to_state(self) -> dict[str, Any]:
        return {"weight": self.weight, "mean": self.mean, "m2": self.m2, "count": self.count}

    @classmethod
    def from_state(cls, decay: float, state: dict[str, Any]) -> EwMoments:
        return cls(
            decay=decay,
            weight=float(state["weight"]),
            mean=float(state["mean"]),
            m2=float(state["m2"]),
            count=int(state["count"]),
        )
