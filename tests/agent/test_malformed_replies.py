"""A malformed 200 answer from the Messages API is an LLM failure (the breaker counts it, rules decide),
never a crash: empty JSON, not JSON, a message without usage or content, content blocks of the wrong
shape. Through the real anthropic SDK against the local Messages server."""

from __future__ import annotations

import json

import pytest

from agent.anthropic_backend import AnthropicBackend
from agent.breaker import FailureKind, LLMBreaker
from agent.errors import LLMUnavailable
from agent.router import ResilientBackend
from agent.rules import RulesBackend
from benchmarks.llmsim import MessagesServer, Reply, raw, tool_use
from core.clock import SimClock
from core.settings import LLMSettings, RiskSettings
from tests.agent.conftest import llm_settings
from tests.engine_desk import RecordingDesk
from tests.tools.helpers import make_request
from tools.context import ListJournal

SCHEDULE = ("schedule_next_check", {"seconds": 3600, "wake_conditions": []})
MESSAGE = {"id": "msg_x", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
           "stop_reason": "end_turn", "stop_sequence": None,
           "content": [{"type": "text", "text": "hello"}],
           "usage": {"input_tokens": 10, "output_tokens": 5}}


def without(key: str) -> str:
    return json.dumps({k: v for k, v in MESSAGE.items() if k != key})


def replacing(**changes: object) -> str:
    return json.dumps({**MESSAGE, **changes})


MALFORMED = {
    "empty-json-object": raw("{}"),
    "empty-body": raw(""),
    "not-json": raw("<html>502 Bad Gateway</html>", "text/html"),
    "truncated-json": raw('{"id": "msg_x", "content": ['),
    "json-array": raw("[1, 2, 3]"),
    "json-null": raw("null"),
    "no-usage": raw(without("usage")),
    "null-usage": raw(replacing(usage=None)),
    "usage-of-strings": raw(replacing(usage={"input_tokens": "many", "output_tokens": 5})),
    "negative-usage": raw(replacing(usage={"input_tokens": -5, "output_tokens": 5})),
    "no-content": raw(without("content")),
    "content-not-a-list": raw(replacing(content="hello")),
    "block-without-type": raw(replacing(content=[{"text": "hi"}])),
    "tool-use-without-input": raw(replacing(stop_reason="tool_use",
                                            content=[{"type": "tool_use", "id": "t1", "name": "get_portfolio"}])),
    "tool-use-input-not-object": raw(replacing(stop_reason="tool_use", content=[
        {"type": "tool_use", "id": "t1", "name": "get_portfolio", "input": "[]"}])),
    "text-block-without-text": raw(replacing(content=[{"type": "text"}])),
}


def backend(server: MessagesServer, desk: RecordingDesk, journal: ListJournal) -> AnthropicBackend:
    return AnthropicBackend(llm=llm_settings(server), risk=RiskSettings(), desk=desk, journal=journal)


@pytest.mark.parametrize("reply", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_malformed_200_is_an_llm_failure(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal, reply: Reply
) -> None:
    server.script(reply)
    with pytest.raises(LLMUnavailable) as caught:
        await backend(server, desk, journal).decide(make_request())
    assert caught.value.kind is FailureKind.MALFORMED, caught.value
    assert caught.value.partial is not None


async def test_the_breaker_counts_malformed_answers_and_rules_decide(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    server.script(raw("{}"), raw("not json", "text/plain"), raw(without("usage")), tool_use(SCHEDULE))
    clock = SimClock(make_request().as_of)
    llm = LLMSettings.model_validate({**llm_settings(server).model_dump(), "breaker_failures": 3})
    router = ResilientBackend(
        primary=AnthropicBackend(llm=llm, risk=RiskSettings(), desk=desk, journal=journal),
        rules=RulesBackend(llm=llm, risk=RiskSettings(), desk=desk, journal=journal),
        breaker=LLMBreaker(llm.breaker_failures, llm.breaker_probe_after_s),
        clock=clock,
        journal=journal,
    )
    records = [await router.decide(make_request()) for _ in range(4)]
    assert [r.backend for r in records] == ["rules"] * 4, "each failure fell back; the 4th call found the breaker open"
    assert len(server.message_requests()) == 3
    assert any(kind == "llm_breaker" and p.get("to") == "open" for kind, p in journal.events)


# ---------------------------------------------------------------- fuzz: any body, a reply or a malformed failure

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from agent.anthropic_backend import Reply as ParsedReply  # noqa: E402
from agent.anthropic_backend import parse_reply  # noqa: E402
from tests.robustness.budget import examples  # noqa: E402

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "content": st.lists(st.fixed_dictionaries({}, optional={
            "type": st.sampled_from(["text", "tool_use", "thinking", 5]), "text": _JSON, "id": _JSON, "name": _JSON,
            "input": _JSON}), max_size=3) | _JSON,
        "stop_reason": st.sampled_from(["tool_use", "end_turn", None, 7]),
        "usage": st.fixed_dictionaries({}, optional={"input_tokens": _JSON, "output_tokens": _JSON}) | _JSON,
    },
)


@settings(max_examples=examples(default=120), deadline=None)
@given(body=st.one_of(st.binary(max_size=200), _JSON.map(lambda v: json.dumps(v).encode()),
                      _SHAPED.map(lambda v: json.dumps(v).encode())))
def test_any_body_is_a_checked_reply_or_a_malformed_failure(body: bytes) -> None:
    try:
        reply = parse_reply(body)
    except LLMUnavailable as exc:
        assert exc.kind is FailureKind.MALFORMED
        return
    assert isinstance(reply, ParsedReply)
    assert all(isinstance(block["type"], str) for block in reply.content)
    assert reply.usage.input_tokens >= 0 and reply.usage.output_tokens >= 0
