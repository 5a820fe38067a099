"""Dollar cost of a decision: one price table, in one place.

Prices are USD per million tokens (list prices; 5-minute cache writes are 1.25x input, cache reads
0.1x input). A model missing from the table is a configuration error at start-up, so the dollar
budget is never silently zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError
from core.types import Usage


@dataclass(frozen=True)
class ModelPrice:
    input: float
    output: float

    @property
    def cache_write(self) -> float:
        return self.input * 1.25

    @property
    def cache_read(self) -> float:
        return self.input * 0.10


PRICES: dict[str, ModelPrice] = {
    "claude-opus-4-6": ModelPrice(5.0, 25.0),
    "claude-opus-4-5": ModelPrice(5.0, 25.0),
    "claude-opus-4-1": ModelPrice(15.0, 75.0),
    "claude-sonnet-4-6": ModelPrice(3.0, 15.0),
    "claude-sonnet-4-5": ModelPrice(3.0, 15.0),
    "claude-sonnet-4-0": ModelPrice(3.0, 15.0),
    "claude-haiku-4-5": ModelPrice(1.0, 5.0),
}


def price_for(model: str) -> ModelPrice:
    """The price of ``model``; dated ids (``claude-sonnet-4-5-20250929``) match their alias."""
    for name, price in PRICES.items():
        if model == name or model.startswith(name + "-"):
            return price
    raise ConfigError(f"no price known for model {model!r}; add it to agent/pricing.py PRICES")


def cost_usd(model: str, usage: Usage) -> float:
    p = price_for(model)
    total = (
        usage.input_tokens * p.input
        + usage.output_tokens * p.output
        + usage.cache_creation_input_tokens * p.cache_write
        + usage.cache_read_input_tokens * p.cache_read
    ) / 1_000_000
    return round(total, 8)


def add_usage(a: Usage, b: Usage) -> Usage:
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cache_creation_input_tokens=a.cache_creation_input_tokens + b.cache_creation_input_tokens,
        cache_read_input_tokens=a.cache_read_input_tokens + b.cache_read_input_tokens,
        cost_usd=round(a.cost_usd + b.cost_usd, 8),
    )
