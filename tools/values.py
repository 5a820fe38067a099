"""The value types of tool inputs: numbers that are numbers, prices that fit in arithmetic, symbols that are
symbols. pydantic's lax mode is kept where a model may legitimately differ from the schema (the Claude
Code CLI has been seen passing numbers as strings: ``"10"`` still reads as 10), and tightened where lax
would change the meaning of a call:

- a boolean is not a number: ``size_pct=true`` would be 1 %, ``fraction=true`` a full close;
- NaN and infinities are not numbers either;
- a price stays below :data:`MAX_PRICE`, so quantizing it can never overflow ``Decimal`` arithmetic
  (``"1E+1000000"`` is a valid Decimal and raised ``decimal.Overflow`` inside the veto).

These are sanity bounds, not trading limits (the veto owns those), so they stay out of the schema the model
reads; a call that breaks one comes back as an ``invalid_arguments`` result naming the field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_PRICE = Decimal(10) ** 12
"""Above any price a market of ours quotes, far below where ``Decimal`` quantization overflows."""
MAX_SYMBOL_CHARS = 32


def not_a_boolean(value: object) -> object:
    """Refuse ``true``/``false`` where a number belongs (lax pydantic reads them as 1 and 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "Input should be a number, not a boolean")
    return value


def short_symbol(value: str) -> str:
    if len(value) > MAX_SYMBOL_CHARS:
        raise PydanticCustomError(
            "symbol_too_long", "Input should be a market symbol (at most {max} characters)", {"max": MAX_SYMBOL_CHARS}
        )
    return value


# Constraints go before the BeforeValidator: after it, pydantic can no longer express them in the JSON
# schema (it would emit raw ``gt``/``le`` keys instead of the bounds the model reads).

Number = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(not_a_boolean)]
"""A finite JSON number (or a numeric string); never a boolean. Bounds go on the field (``Field(gt=0)``)."""

Count = Annotated[int, BeforeValidator(not_a_boolean)]
"""A whole number; never a boolean."""

Percent50 = Annotated[float, Field(gt=0, le=50, allow_inf_nan=False), BeforeValidator(not_a_boolean)]
"""A percentage in (0, 50], for optional fields (where bounds cannot go on the field)."""

Price = Annotated[
    Decimal,
    Field(gt=0, lt=MAX_PRICE, allow_inf_nan=False),
    BeforeValidator(not_a_boolean),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0}),
]
"""A price in quote currency; a JSON number for the model, a Decimal once validated."""

SymbolArg = Annotated[str, AfterValidator(short_symbol)]
"""A market symbol as the model writes it (the desk and the veto say whether it is one we trade)."""
