"""The claude-code backend end to end: the real SDK, the bundled CLI, the local Messages server (SSE).

Each test starts the CLI once (about a second), so they are few and each checks several things.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.breaker import FailureKind
from agent.errors import LLMUnavailable
from benchmarks.llmsim import MessagesServer, fail, text, tool_use
from core.settings import RiskSettings
from core.types import Veto
from safety.proposals import Proposal
from safety.verdicts import Approved
from tests.agent.conftest import MakeDesk, llm_settings
from tests.engine_desk import RecordingDesk
from tests.tools.helpers import make_request
from tools.context import ListJournal

cc = pytest.importorskip("agent.claude_code")
if not cc.available():
    pytest.skip("claude-agent-sdk (the claude-code extra) is not installed", allow_module_level=True)

ORDER = {"side": "long", "size_pct": 10, "order_type": "market", "stop_loss_price": 49_000,
         "signals": ["trend_follow"], "confidence": 0.6, "thesis": "trend intact"}
SCHEDULE = ("mcp__trading__schedule_next_check", {"seconds": 1200, "wake_conditions": []})


def backend(server: MessagesServer, desk: Any, journal: ListJournal, tmp_path: Any) -> Any:
    llm = llm_settings(server, backend="claude-code", claude_config_dir=tmp_path, model="claude-haiku-4-5")
    return cc.ClaudeCodeBackend(llm=llm, risk=RiskSettings(), desk=desk, journal=journal, hook_timeout_s=10)


def tool_results(server: MessagesServer) -> list[dict[str, Any]]:
    out = []
    for body in server.message_requests():
        last = body["messages"][-1]
        if last["role"] == "user" and isinstance(last["content"], list):
            out.extend(b for b in last["content"] if b.get("type") == "tool_result")
    return out


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    return content if isinstance(content, str) else json.dumps(content)


async def test_invalid_args_veto_and_corrected_order(server: MessagesServer, tmp_path: Any, make_desk: MakeDesk) -> None:
    desk, journal = await make_desk(), ListJournal()
    no_stop = {k: v for k, v in ORDER.items() if k != "stop_loss_price"}
    server.script(
        tool_use(("mcp__trading__place_order", {**no_stop, "size_pct": 150})),  # schema-valid, pydantic-invalid
        tool_use(("mcp__trading__place_order", {**ORDER, "stop_loss_price": 49_990})),  # vetoed
        tool_use(("mcp__trading__place_order", ORDER)),
        tool_use(SCHEDULE, text="Long with a 2% stop."),
        text("Done."),  # the CLI turns until the model ends its turn
    )
    agent = backend(server, desk, journal, tmp_path)
    record = await agent.decide(make_request())
    calls = record.tool_calls
    assert [c.name for c in calls] == ["place_order", "place_order", "place_order", "schedule_next_check"]
    assert json.loads(json.dumps(calls[0].result))["code"] == "invalid_arguments"
    assert calls[1].veto is not None and calls[1].veto.code == "stop_too_close"
    assert not calls[2].is_error and calls[2].tool_call_id.startswith("toolu_")
    assert len(desk.executed) == 1 and desk.positions["BTC/USDT"].stop_price == 49_000
    results = tool_results(server)
    assert results[0]["is_error"] and "invalid_arguments" in result_text(results[0])
    assert results[1]["is_error"] and "stop_too_close" in result_text(results[1])
    assert record.error is None and record.next_check_seconds == 1200 and record.backend == "claude-code"
    first = server.message_requests()[0]
    names = sorted(t["name"] for t in first["tools"])
    assert names == sorted(f"mcp__trading__{n}" for n in (
        "adjust_stop", "close_position", "get_learner_weights", "get_market_snapshot", "get_portfolio",
        "get_regime", "place_order", "schedule_next_check", "update_memory"))  # no built-in tools
    assert first["model"] == "claude-haiku-4-5" and first["stream"] is True and first["max_tokens"] == 2048
    assert "tool_vetoed" in journal.kinds()
    # the look-ahead guard: the CLI's date, cutoff and environment notes never reach the model
    sent = json.dumps(server.message_requests())
    for leak in ("Today's date", "knowledge cutoff", "Primary working directory", "Shell:", "OS Version",
                 "<system-reminder>", str(tmp_path)):
        assert leak not in sent, leak
    assert agent.scrubbed_blocks >= 3, "the CLI did add them; the proxy took them out"
    assert "Wake: candle_close" in json.dumps(first["messages"][0]), "our own message went through intact"


class CrashingDesk(RecordingDesk):
    """A desk whose veto crashes: the hook must block, not fail open."""

    async def check(self, proposal: Proposal) -> Approved | Veto:
        self.checks += 1
        raise RuntimeError("veto service crashed")


async def test_a_crashing_veto_hook_blocks_the_order(server: MessagesServer, tmp_path: Any, make_desk: MakeDesk) -> None:
    real = await make_desk()
    desk, journal = CrashingDesk(real.inner, real.engine, real.venue, real.store), ListJournal()
    server.script(tool_use(("mcp__trading__place_order", ORDER)), tool_use(SCHEDULE), text("Done."))
    record = await backend(server, desk, journal, tmp_path).decide(make_request())
    assert desk.executed == [] and desk.positions == {}
    assert desk.checks == 1  # only the hook ran: the MCP handler (which would check again) never did
    assert tool_results(server)[0]["is_error"] is True
    assert record.next_check_seconds == 1200


async def test_529_storm_is_a_breaker_failure(server: MessagesServer, tmp_path: Any, make_desk: MakeDesk) -> None:
    desk, journal = await make_desk(), ListJournal()
    server.script(*[fail(529) for _ in range(4)])
    with pytest.raises(LLMUnavailable) as caught:
        await backend(server, desk, journal, tmp_path).decide(make_request())
    assert caught.value.kind is FailureKind.OVERLOADED and desk.executed == []
