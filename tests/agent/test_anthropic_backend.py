"""The anthropic tool loop through the real SDK against the local Messages server."""

from __future__ import annotations

import json

import anthropic
import pytest

from agent.anthropic_backend import AnthropicBackend
from agent.breaker import FailureKind
from agent.errors import LLMUnavailable
from benchmarks.llmsim import MessagesServer, fail, hang, malformed, text, tool_use
from core.errors import OperationalError
from core.settings import RiskSettings
from tests.agent.conftest import llm_settings
from tests.engine_desk import RecordingDesk
from tests.tools.helpers import make_request
from tools.context import ListJournal
from tools.registry import anthropic_tools

ORDER = {
    "side": "long",
    "size_pct": 10,
    "order_type": "market",
    "stop_loss_price": 49_000,
    "signals": ["trend_follow"],
    "confidence": 0.6,
    "thesis": "4h trend intact",
}
SCHEDULE = ("schedule_next_check", {"seconds": 3600, "wake_conditions": []})


def backend(server: MessagesServer, desk: RecordingDesk, journal: ListJournal, **llm: object) -> AnthropicBackend:
    return AnthropicBackend(llm=llm_settings(server, **llm), risk=RiskSettings(), desk=desk, journal=journal)


async def test_invalid_args_come_back_as_is_error_and_the_corrected_call_succeeds(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    bad = {k: v for k, v in ORDER.items() if k != "stop_loss_price"}
    server.script(
        tool_use(("get_portfolio", {})),
        tool_use(("place_order", bad)),
        tool_use(("place_order", ORDER)),
        tool_use(SCHEDULE, text="Trend intact; long with a 2% stop."),
    )
    record = await backend(server, desk, journal).decide(make_request())
    assert record.error is None and record.backend == "anthropic"
    assert [c.name for c in record.tool_calls] == ["get_portfolio", "place_order", "place_order", "schedule_next_check"]
    assert record.tool_calls[1].is_error and not record.tool_calls[2].is_error
    assert "BTC/USDT" in desk.positions and len(desk.executed) == 1
    # the model saw the error as a tool_result with is_error and the pydantic message
    third = server.message_requests()[2]["messages"][-1]["content"][0]
    assert third["is_error"] is True and "stop_loss_price: Field required" in third["content"]
    assert record.next_check_seconds == 3600 and record.reasoning == "Trend intact; long with a 2% stop."


async def test_request_pins_model_caches_prefix_and_sends_strict_tools(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    server.script(tool_use(("get_portfolio", {})), tool_use(SCHEDULE))
    record = await backend(server, desk, journal, model="claude-haiku-4-5", max_tokens=512).decide(make_request())
    first, second = server.message_requests()
    assert first["model"] == "claude-haiku-4-5" and first["max_tokens"] == 512
    assert first["thinking"] == {"type": "disabled"}
    assert first["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}, "the stable prefix, 1 h"
    assert first["tools"] == json.loads(json.dumps(anthropic_tools())), "tools: byte-stable, no marker of their own"
    [opening] = first["messages"][0]["content"]
    assert "<market_data>" in opening["text"] and "<book>" in opening["text"]
    assert opening["cache_control"] == {"type": "ephemeral"}, "the rolling 5-minute breakpoint"
    assert second["system"] == first["system"] and second["tools"] == first["tools"]
    markers = [b for m in second["messages"] for b in m["content"] if "cache_control" in b]
    assert markers == [second["messages"][-1]["content"][-1]], "one rolling breakpoint, on the newest block"
    usage = record.usage
    assert usage.cache_creation_1h_input_tokens > 0, "the prefix written for an hour"
    assert usage.cache_read_input_tokens > usage.cache_creation_1h_input_tokens, "turn 2 reads prefix + turn 1"
    assert usage.cost_usd > 0
    assert journal.events[0] == ("llm.cache_check", {
        "model": "claude-haiku-4-5", "prefix_tokens": journal.events[0][1]["prefix_tokens"], "minimum": 4096,
        "cacheable": True, "warning": None})


async def test_a_prefix_below_the_models_minimum_warns_once_and_is_journaled(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    from agent import pricing

    pricing.PRICES["claude-test-huge-minimum"] = pricing.ModelPrice(1.0, 1.25, 2.0, 0.1, 5.0, 1_000_000)
    try:
        agent = backend(server, desk, journal, model="claude-test-huge-minimum")
        server.script(tool_use(SCHEDULE), tool_use(SCHEDULE))
        await agent.decide(make_request())
        [alert] = agent.drain_alerts()
        await agent.decide(make_request())
    finally:
        del pricing.PRICES["claude-test-huge-minimum"]
    assert alert.kind == "llm_cache" and "caching cannot happen" in alert.message and agent.drain_alerts() == []
    kind, payload = journal.events[0]
    assert kind == "llm.cache_check" and payload["cacheable"] is False and payload["minimum"] == 1_000_000


async def test_a_vetoed_order_is_never_placed(server: MessagesServer, desk: RecordingDesk, journal: ListJournal) -> None:
    server.script(tool_use(("place_order", {**ORDER, "stop_loss_price": 49_999})), tool_use(SCHEDULE))
    record = await backend(server, desk, journal).decide(make_request())
    veto = record.tool_calls[0].veto
    assert veto is not None and veto.code == "stop_too_close"
    assert desk.executed == [] and desk.positions == {}
    sent = server.message_requests()[1]["messages"][-1]["content"][0]
    assert sent["is_error"] is True and "stop_too_close" in sent["content"]
    assert "tool_vetoed" in journal.kinds()


async def test_parallel_calls_run_in_order_and_final_ends_without_another_request(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    server.script(tool_use(("get_regime", {}), ("place_order", ORDER), SCHEDULE))
    record = await backend(server, desk, journal).decide(make_request())
    assert [c.name for c in record.tool_calls] == ["get_regime", "place_order", "schedule_next_check"]
    assert len(server.message_requests()) == 1 and record.error is None


async def test_end_turn_without_schedule_gets_one_reminder(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    server.script(text("Nothing to do."), tool_use(SCHEDULE))
    record = await backend(server, desk, journal).decide(make_request())
    assert record.error is None and record.next_check_seconds == 3600
    assert "schedule_next_check" in server.message_requests()[1]["messages"][-1]["content"][0]["text"]


@pytest.mark.parametrize("stop", ["refusal", "max_tokens", "model_context_window_exceeded"])
async def test_terminal_stop_reasons_are_recorded(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal, stop: str
) -> None:
    server.script(text("...", stop_reason=stop))
    record = await backend(server, desk, journal).decide(make_request())
    assert record.error is not None and record.error.startswith(stop)
    assert len(server.message_requests()) == 1


async def test_pause_turn_resends_and_max_turns_caps_the_loop(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    server.script(text("thinking...", stop_reason="pause_turn"), tool_use(("get_portfolio", {})))
    record = await backend(server, desk, journal, max_turns=2).decide(make_request())
    assert record.error is not None and record.error.startswith("max_turns")
    assert server.message_requests()[1]["messages"][-1]["role"] == "assistant"


@pytest.mark.parametrize(
    ("reply", "kind"),
    [(fail(529), FailureKind.OVERLOADED), (fail(429, retry_after=0), FailureKind.RATE_LIMIT),
     (fail(500), FailureKind.SERVER_ERROR), (malformed(), FailureKind.MALFORMED)],
)
async def test_service_failures_are_translated(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal, reply: object, kind: FailureKind
) -> None:
    server.script(reply)  # type: ignore[arg-type]
    with pytest.raises(LLMUnavailable) as caught:
        await backend(server, desk, journal).decide(make_request())
    assert caught.value.kind is kind
    assert caught.value.partial is not None and caught.value.partial.tool_calls == ()


async def test_429_with_retry_after_is_retried_by_the_sdk(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    server.script(fail(429, retry_after=0), tool_use(SCHEDULE))
    record = await backend(server, desk, journal, max_retries=1).decide(make_request())
    assert record.error is None and len(server.message_requests()) == 2


async def test_timeout_and_connection_errors(server: MessagesServer, desk: RecordingDesk, journal: ListJournal) -> None:
    server.script(hang(3))
    with pytest.raises(LLMUnavailable) as caught:
        await backend(server, desk, journal, timeout_s=0.3).decide(make_request())
    assert caught.value.kind is FailureKind.TIMEOUT
    closed = backend(server, desk, journal, base_url="http://127.0.0.1:9")
    with pytest.raises(LLMUnavailable) as caught:
        await closed.decide(make_request())
    assert caught.value.kind is FailureKind.CONNECTION


async def test_bad_credentials_are_operational(server: MessagesServer, desk: RecordingDesk, journal: ListJournal) -> None:
    server.script(fail(401, "authentication_error"))
    with pytest.raises(OperationalError):
        await backend(server, desk, journal).decide(make_request())


async def test_count_tokens_endpoint_answers_the_documented_estimator(server: MessagesServer) -> None:
    import anthropic

    from agent.prompting import estimate_request_tokens

    client = anthropic.AsyncAnthropic(api_key="sk-ant-test-0", base_url=server.base_url, max_retries=0)
    messages = [{"role": "user", "content": "hello"}]
    counted = await client.messages.count_tokens(model="claude-sonnet-4-6", system="sys", messages=messages,
                                                 tools=anthropic_tools())
    assert counted.input_tokens == estimate_request_tokens("sys", anthropic_tools(), messages)


async def test_the_conftest_guard_blocks_real_model_calls() -> None:
    import socket

    import anthropic

    with pytest.raises(ConnectionRefusedError, match="must not reach the network"):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    client = anthropic.AsyncAnthropic(api_key="sk-ant-test-0", max_retries=0)  # base URL from the environment
    assert "127.0.0.1:9" in str(client.base_url)
    with pytest.raises(anthropic.APIConnectionError):
        await client.messages.create(model="claude-sonnet-4-6", max_tokens=10,
                                     messages=[{"role": "user", "content": "hi"}])


async def test_thinking_is_pinned_and_its_blocks_are_sent_back(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    from benchmarks.llmsim import Reply

    thought = {"type": "thinking", "thinking": "trend is up", "signature": "sig-1"}
    server.script(Reply(kind="message", content=(thought, {"type": "tool_use", "id": "toolu_t", "name": "get_portfolio",
                                                           "input": {}}), stop_reason="tool_use"),
                  tool_use(SCHEDULE))
    await backend(server, desk, journal, thinking_budget_tokens=1024, max_tokens=4096).decide(make_request())
    first, second = server.message_requests()
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert second["messages"][1]["content"][0] == thought


async def test_closing_the_backend_closes_its_own_client_not_one_passed_in(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    server.script(tool_use(SCHEDULE, text="Flat."), tool_use(SCHEDULE, text="Flat."))
    own = backend(server, desk, journal)
    await own.decide(make_request())
    await own.aclose()
    assert server.wait_connections_closed(timeout=10) and own.client.is_closed()
    given = anthropic.AsyncAnthropic(api_key="sk-ant-test-not-a-real-key-000000", base_url=server.base_url)
    lent = AnthropicBackend(llm=llm_settings(server), risk=RiskSettings(), desk=desk, journal=journal, client=given)
    await lent.decide(make_request())
    await lent.aclose()
    assert not given.is_closed() and server.connections_open == 1  # the caller's to close
    await given.close()
    assert server.wait_connections_closed(timeout=10)
