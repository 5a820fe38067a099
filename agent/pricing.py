"""Dollar cost of a decision, and the prompt-cache facts of each model: one table, in one place.

USD per million tokens, list prices. Cache multipliers on the base input price, from the API's "Prompt
caching" docs (§ Pricing): a 5-minute write costs 1.25x, a 1-hour write 2x, a read 0.1x. The table spells
every column out (checked against ../shared/notes/claude-sdks.md "Prompt caching, checked" for Opus 4.5/4.6,
Sonnet 4.5/4.6 and Haiku 4.5; Opus 4.1 and Sonnet 4.0 are their list input/output prices with the same
documented multipliers). A model missing from the table is a configuration error at start-up, so the dollar
budget is never silently zero.

``min_cacheable_tokens``: below this prefix length the API caches nothing, without an error (both cache
counters stay 0) [PC § Cache limitations]: 4,096 for Opus 4.5/4.6 and Haiku 4.5, 1,024 for Sonnet 4.5/4.6
and for the older Opus 4.1 and Sonnet 4.0. An earlier revision listed Sonnet 4.6 at 2,048 and an SDK issue saw
caching only from about 2,048: :data:`SAFE_PREFIX_TOKENS` is the margin the start-up check warns below.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError
from core.types import Usage

SAFE_PREFIX_TOKENS = 2048
"""Sonnet 4.6 may need 2,048 in practice (see the module docstring): warn below this too."""


@dataclass(frozen=True)
class ModelPrice:
    input: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float
    output: float
    min_cacheable_tokens: int


PRICES: dict[str, ModelPrice] = {
    #                             input  5m write  1h write  read   output  min prefix
    "claude-opus-4-6": ModelPrice(5.0, 6.25, 10.0, 0.50, 25.0, 4096),
    "claude-opus-4-5": ModelPrice(5.0, 6.25, 10.0, 0.50, 25.0, 4096),
    "claude-opus-4-1": ModelPrice(15.0, 18.75, 30.0, 1.50, 75.0, 1024),
    "claude-sonnet-4-6": ModelPrice(3.0, 3.75, 6.0, 0.30, 15.0, 1024),
    "claude-sonnet-4-5": ModelPrice(3.0, 3.75, 6.0, 0.30, 15.0, 1024),
    "claude-sonnet-4-0": ModelPrice(3.0, 3.75, 6.0, 0.30, 15.0, 1024),
    "claude-haiku-4-5": ModelPrice(1.0, 1.25, 2.0, 0.10, 5.0, 4096),
}


def price_for(model: str) -> ModelPrice:
    """The price of ``model``; dated ids (``claude-sonnet-4-5-20250929``) match their alias."""
    for name, price in PRICES.items():
        if model == name or model.startswith(name + "-"):
            return price
    raise ConfigError(f"no price known for model {model!r}; add it to agent/pricing.py PRICES")


def cost_usd(model: str, usage: Usage) -> float:
    """Dollars of ``usage``: uncached input, 5-minute and 1-hour cache writes, cache reads, output."""
    p = price_for(model)
    write_1h = usage.cache_creation_1h_input_tokens
    write_5m = usage.cache_creation_input_tokens - write_1h
    total = (
        usage.input_tokens * p.input
        + write_5m * p.cache_write_5m
        + write_1h * p.cache_write_1h
        + usage.cache_read_input_tokens * p.cache_read
        + usage.output_tokens * p.output
    ) / 1_000_000
    return round(total, 8)


def add_usage(a: Usage, b: Usage) -> Usage:
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cache_creation_input_tokens=a.cache_creation_input_tokens + b.cache_creation_input_tokens,
        cache_creation_1h_input_tokens=a.cache_creation_1h_input_tokens + b.cache_creation_1h_input_tokens,
        cache_read_input_tokens=a.cache_read_input_tokens + b.cache_read_input_tokens,
        cost_usd=round(a.cost_usd + b.cost_usd, 8),
    )


@dataclass(frozen=True)
class CacheCheck:
    """The start-up check of the stable prefix (tools + system) against the model's minimum cacheable length."""

    model: str
    prefix_tokens: int
    """Estimated with ``agent.prompting``'s documented estimator (no tokenizer offline)."""
    minimum: int
    safe_minimum: int

    @property
    def cacheable(self) -> bool:
        return self.prefix_tokens >= self.minimum

    @property
    def warning(self) -> str | None:
        if not self.cacheable:
            return (
                f"prompt caching cannot happen: the stable prefix is about {self.prefix_tokens} tokens, below the "
                f"{self.minimum}-token minimum of {self.model}; every request pays full input price"
            )
        if self.prefix_tokens < self.safe_minimum:
            return (
                f"the stable prefix (about {self.prefix_tokens} tokens) is close to {self.model}'s cache minimum; "
                f"below {self.safe_minimum} some models were seen not to cache: read the cache counters"
            )
        return None

    def payload(self) -> dict[str, object]:
        return {"model": self.model, "prefix_tokens": self.prefix_tokens, "minimum": self.minimum,
                "cacheable": self.cacheable, "warning": self.warning}


def cache_check(model: str, prefix_tokens: int) -> CacheCheck:
    minimum = price_for(model).min_cacheable_tokens
    return CacheCheck(model, prefix_tokens, minimum, max(minimum, SAFE_PREFIX_TOKENS))
