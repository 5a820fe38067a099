"""The registry is the one list of tools: names, the side-effect set and what each description promises are
derived from it, and these tests tie the derived things to what the tools actually do."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from core.ids import Symbol
from core.portfolio import PortfolioView, PositionView
from tests.engine_desk import RecordingDesk
from tests.tools.helpers import make_request
from tools.context import DecisionSession, ListJournal
from tools.executor import ToolExecutor
from tools.registry import BY_NAME, SIDE_EFFECT_TOOLS, TOOLS, ToolName, returns_help
from tools.results import MemoryResult, PortfolioResult

CALLS: dict[ToolName, dict[str, Any]] = {
    ToolName.GET_MARKET_SNAPSHOT: {},
    ToolName.GET_REGIME: {},
    ToolName.GET_PORTFOLIO: {},
    ToolName.GET_LEARNER_WEIGHTS: {},
    ToolName.PLACE_ORDER: {"side": "long", "size_pct": 10, "order_type": "market", "stop_loss_price": 49_000,
                           "signals": ["momentum"], "confidence": 0.5, "thesis": "a valid entry"},
    ToolName.ADJUST_STOP: {"stop_price": 49_500, "reason": "tighter"},
    ToolName.CLOSE_POSITION: {"fraction": 1, "reason": "done with it"},
    ToolName.UPDATE_MEMORY: {"text": "a note"},
    ToolName.SCHEDULE_NEXT_CHECK: {"seconds": 600, "wake_conditions": []},
}
"""One valid call per tool (valid arguments; whether safety approves is another matter)."""


def test_every_tool_has_one_name_and_one_spec() -> None:
    assert [spec.name for spec in TOOLS] == list(ToolName)
    assert set(CALLS) == set(ToolName)


async def test_the_side_effect_set_is_exactly_the_tools_that_ask_the_veto(desk: RecordingDesk) -> None:
    """Derived from the specs, and tied here to behaviour: a tool is in ``SIDE_EFFECT_TOOLS`` if and only if
    calling it consults safety's veto (the router's "did it act", the engine's veto streak rely on it)."""
    snapshot = await desk.snapshot(Symbol("BTC/USDT"))  # a real one: get_market_snapshot returns it typed
    request = make_request(snapshot.model_dump(mode="json"))
    executor = ToolExecutor(desk, ListJournal(), DecisionSession(request=request, memory_max_chars=100))
    asked = set()
    for name, arguments in CALLS.items():
        checks = desk.checks
        outcome = await executor.call(name, arguments, f"call-{name}")
        assert outcome.record.name == name and outcome.record.result.get("code") != "invalid_arguments"
        if desk.checks > checks:
            asked.add(name)
    assert asked == SIDE_EFFECT_TOOLS == {ToolName.PLACE_ORDER, ToolName.CLOSE_POSITION, ToolName.ADJUST_STOP}


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_each_description_ends_with_what_the_result_model_returns(spec: Any) -> None:
    assert spec.description.endswith(returns_help(spec.result_model))
    for field in spec.result_model.model_fields:
        assert field in spec.description.rsplit("Returns", 1)[1]


async def test_get_portfolio_returns_exactly_what_its_description_promises(
    executor: ToolExecutor, desk: RecordingDesk
) -> None:
    await desk.hold_long(stop="47000")
    outcome = await executor.call(ToolName.GET_PORTFOLIO, {}, "p1")
    body = json.loads(outcome.content)
    promised = BY_NAME[ToolName.GET_PORTFOLIO].description
    assert f"portfolio {{{', '.join(PortfolioView.model_fields)}}}" in promised
    assert set(body) == {"portfolio"} and set(body["portfolio"]) == set(PortfolioView.model_fields)
    [position] = body["portfolio"]["positions"]
    assert set(position) == set(PositionView.model_fields)
    assert position["side"] == "long" and position["stop_price"] == "47000"
    assert Decimal(position["unrealized_pnl"]) == 0  # at the entry price (digits follow the net quantity's)
    assert PortfolioResult.model_validate(body).portfolio == await desk.portfolio()


def test_a_handler_returning_the_wrong_model_is_a_bug_not_a_result() -> None:
    with pytest.raises(TypeError, match="get_portfolio returned MemoryResult"):
        BY_NAME[ToolName.GET_PORTFOLIO].result_json(MemoryResult(saved_chars=1, max_chars=2, redacted=False))

