"""Issue 22 item 7: the tools each LLM backend offers follow the account's market type. Built the way the
engine builds them (``agent.factory.agent_backend`` from settings), the request the model receives offers
``place_order`` with long only on spot and both sides on futures; a short that reaches the choke point
anyway (the claude-code CLI does not enforce schemas) is vetoed with ``wrong_market_side``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.factory import agent_backend
from benchmarks.llmsim import MessagesServer, text, tool_use
from core.clock import SimClock
from core.settings import Settings, load_settings
from tests.agent.conftest import llm_settings
from tests.engine_desk import RecordingDesk
from tests.tools.helpers import make_request
from tools.context import ListJournal

SHORT = {"side": "short", "size_pct": 10, "order_type": "market", "stop_loss_price": 51_000,
         "signals": ["trend_follow"], "confidence": 0.6, "thesis": "4h trend broke down"}


def settings_for(server: MessagesServer, market_type: str, backend: str, config_dir: Path) -> Settings:
    base = load_settings(None)
    llm = llm_settings(server, backend=backend, claude_config_dir=config_dir, model="claude-haiku-4-5")
    symbols = ("BTC/USDT",) if market_type == "spot" else ("BTC/USDT:USDT",)
    exchange = base.exchange.model_copy(update={"market_type": market_type, "symbols": symbols})
    return base.model_copy(update={"llm": llm, "exchange": exchange})


def offered_side(server: MessagesServer, name: str) -> dict[str, Any]:
    [tool] = [t for t in server.message_requests()[0]["tools"] if t["name"] == name]
    side: dict[str, Any] = tool["input_schema"]["properties"]["side"]
    return side


@pytest.mark.parametrize(("market_type", "sides"), [("spot", ["long"]), ("future", ["long", "short"])])
async def test_the_anthropic_backend_offers_the_sides_of_its_market(
    server: MessagesServer, desk: RecordingDesk, tmp_path: Path, market_type: str, sides: list[str]
) -> None:
    settings = settings_for(server, market_type, "anthropic", tmp_path)
    backend = agent_backend(settings, desk=desk, journal=ListJournal(), clock=SimClock(datetime(2024, 3, 1, tzinfo=UTC)))
    server.script(tool_use(("schedule_next_check", {"seconds": 600, "wake_conditions": []})))
    record = await backend.decide(make_request())
    assert record.backend == "anthropic" and record.error is None
    side = offered_side(server, "place_order")
    assert side.get("enum", [side.get("const")]) == sides


async def test_the_claude_code_backend_offers_long_only_on_spot_and_the_veto_holds_the_line(
    server: MessagesServer, desk: RecordingDesk, tmp_path: Path
) -> None:
    cc = pytest.importorskip("agent.claude_code")
    if not cc.available():
        pytest.skip("claude-agent-sdk (the claude-code extra) is not installed")
    settings = settings_for(server, "spot", "claude-code", tmp_path)
    backend = agent_backend(settings, desk=desk, journal=ListJournal(), clock=SimClock(datetime(2024, 3, 1, tzinfo=UTC)))
    server.script(
        tool_use(("mcp__trading__place_order", SHORT)),  # the CLI passes it: MCP schemas are not enforced
        tool_use(("mcp__trading__schedule_next_check", {"seconds": 600, "wake_conditions": []})),
        text("Done."),
    )
    record = await backend.decide(make_request())
    assert offered_side(server, "mcp__trading__place_order")["const"] == "long"
    veto = record.tool_calls[0].veto
    assert veto is not None and veto.code == "wrong_market_side", json.dumps(record.tool_calls[0].result)
    assert desk.executed == [] and desk.positions == {}
