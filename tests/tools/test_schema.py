"""Strict-mode schemas: what Anthropic's grammar-constrained tools accept, checked for every tool."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from core.conditions import CONDITION_KINDS, WakeCondition
from tools.registry import MARKET_TYPES, TOOLS, anthropic_tools, check_budget, input_schema
from tools.schema import count_budget, strict_problems, strict_schema
from tools.wake_args import condition_models


@pytest.mark.parametrize("market_type", MARKET_TYPES)
@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_every_tool_schema_is_strict_clean(spec: Any, market_type: Any) -> None:
    schema = input_schema(spec.name, market_type)
    assert strict_problems(schema) == []
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        assert prop.get("description"), f"{spec.name}.{name} has no description for the model"


@pytest.mark.parametrize("market_type", MARKET_TYPES)
def test_budget_fits_strict_limits(market_type: Any) -> None:
    check_budget()
    optional, unions = count_budget(input_schema(s.name, market_type) for s in TOOLS)
    assert optional <= 24 and unions <= 16


def test_a_spot_account_is_offered_long_entries_only() -> None:
    """Issue 22 item 7: on spot the schema has no short to offer (strict mode then makes one impossible);
    futures offer both sides; nothing else differs, and the spot tools block is what the default gives."""
    spot, future = input_schema("place_order", "spot"), input_schema("place_order", "future")
    assert spot["properties"]["side"]["const"] == "long" and "enum" not in spot["properties"]["side"]
    assert "spot account" in spot["properties"]["side"]["description"]
    assert future["properties"]["side"]["enum"] == ["long", "short"]
    assert {k: v for k, v in spot["properties"].items() if k != "side"} == {
        k: v for k, v in future["properties"].items() if k != "side"
    }
    assert spot["required"] == future["required"] and list(spot["properties"]) == list(future["properties"])
    for name in (s.name for s in TOOLS if s.name != "place_order"):
        assert input_schema(name, "spot") == input_schema(name, "future")
    assert anthropic_tools() == anthropic_tools("spot") != anthropic_tools("future")


def test_place_order_schema_shape() -> None:
    schema = input_schema("place_order")
    assert set(schema["required"]) == {
        "side", "size_pct", "order_type", "stop_loss_price", "signals", "confidence", "thesis"
    }
    assert schema["properties"]["limit_price"] == {
        "type": "number",
        "description": "Required for limit orders, omitted for market. (exclusiveMinimum=0)",
    }
    assert "maximum=100" in schema["properties"]["size_pct"]["description"]
    assert schema["properties"]["signals"]["minItems"] == 1
    assert "trend_follow" in schema["properties"]["signals"]["items"]["enum"]


def test_wake_conditions_are_the_gates_kinds_flattened() -> None:
    """One flat object per condition (the gate's union does not fit strict mode's optional budget):
    ``kind`` required and one of the gate's kinds, every field some kind takes, described by the gate."""
    item = input_schema("schedule_next_check")["properties"]["wake_conditions"]["items"]
    assert item["required"] == ["kind"] and tuple(item["properties"]["kind"]["enum"]) == CONDITION_KINDS
    gate_fields = {name for model in condition_models() for name in model.model_fields}
    assert set(item["properties"]) == gate_fields
    assert "[move_pct] Size of the move" in item["properties"]["pct"]["description"]
    assert "[position_pnl_below] P&L threshold" in item["properties"]["pct"]["description"]
    assert item["properties"]["at"]["format"] == "date-time"
    assert all(kind in item["properties"]["kind"]["description"] for kind in CONDITION_KINDS)


def test_the_gates_union_itself_would_not_fit_the_strict_budget() -> None:
    """Why the tool flattens: the union as the input type would bust the 24 optional parameters."""

    class Union(BaseModel):
        wake_conditions: list[WakeCondition]

    optional, _ = count_budget([strict_schema(Union)])
    others, _ = count_budget(input_schema(s.name) for s in TOOLS if s.name != "schedule_next_check")
    assert optional + others > 24


def test_anthropic_tools_are_strict_and_byte_stable_without_a_breakpoint_of_their_own() -> None:
    tools = anthropic_tools()
    assert all(t["strict"] is True for t in tools)
    assert all("cache_control" not in t for t in tools), "the system block's breakpoint covers the tools before it"
    assert tools == anthropic_tools() and tools[-1]["name"] == "schedule_next_check"


class Inner(BaseModel):
    n: int = Field(ge=2, le=9)


class Outer(BaseModel):
    a: str = Field(min_length=2, max_length=5, description="text")
    b: float | None = None
    c: list[Inner] = Field(min_length=3)
    d: int | str


def test_transformer_moves_constraints_and_keeps_real_unions() -> None:
    schema = strict_schema(Outer)
    assert strict_problems(schema) == []
    assert schema["properties"]["a"]["description"] == "text (minLength=2, maxLength=5)"
    assert schema["properties"]["b"] == {"type": "number"}
    assert schema["properties"]["c"]["minItems"] == 1
    assert "anyOf" in schema["properties"]["d"]
    assert schema["properties"]["c"]["items"]["additionalProperties"] is False
    assert count_budget([schema]) == (1, 1)


@given(st.integers(min_value=-5, max_value=20))
def test_constraints_still_enforced_by_pydantic(n: int) -> None:
    ok = 2 <= n <= 9
    try:
        Inner.model_validate({"n": n})
    except ValueError:
        assert not ok
    else:
        assert ok
