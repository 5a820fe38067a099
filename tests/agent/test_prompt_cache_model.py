"""The local Messages server's prompt cache behaves as the API documents it: breakpoints, TTLs on the request
clock, the minimum cacheable length per model, the 20-block lookback, per-model caches, the usage fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import pytest

from benchmarks.llmsim import CacheRequestError, MessagesServer, PromptCache, tool_use
from benchmarks.llmsim.cache import request_blocks

T0 = datetime(2024, 3, 1, tzinfo=UTC)
LONG = "rules of the game. " * 400  # ~2,200 tokens by the estimator: above Sonnet's 1,024, below Haiku's 4,096


def request(*, model: str = "claude-sonnet-4-6", system_ttl: str | None = "1h", turns: int = 1,
            rolling: bool = True, extra: int = 0) -> dict[str, Any]:
    system: dict[str, Any] = {"type": "text", "text": LONG}
    if system_ttl:
        system["cache_control"] = {"type": "ephemeral", "ttl": system_ttl}
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        messages.append({"role": "user", "content": [{"type": "text", "text": f"turn {i} " + "data " * 50}]})
        if i < turns - 1:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": f"answer {i}"}]})
    for j in range(extra):
        messages[-1]["content"].append({"type": "text", "text": f"extra block {j}"})
    if rolling:
        last = messages[-1]["content"][-1]
        messages[-1]["content"][-1] = {**last, "cache_control": {"type": "ephemeral"}}
    return {"model": model, "system": [system], "messages": messages}


def total(req: dict[str, Any]) -> int:
    return sum(b.tokens for b in request_blocks(req))


def test_the_stable_prefix_is_written_for_an_hour_and_read_while_it_lives() -> None:
    cache = PromptCache()
    first = cache.apply(request(rolling=False), T0)
    assert first.cache_read_input_tokens == 0 and first.cache_creation_1h > 0 and first.cache_creation_5m == 0
    assert first.input_tokens + first.cache_creation_input_tokens == total(request(rolling=False))
    later = cache.apply(request(rolling=False), T0 + timedelta(minutes=50))
    assert later.cache_read_input_tokens == first.cache_creation_1h and later.cache_creation_input_tokens == 0
    refreshed = cache.apply(request(rolling=False), T0 + timedelta(minutes=100))  # 50 min after the read
    assert refreshed.cache_read_input_tokens > 0, "a read refreshes the TTL, counted from that request"
    expired = cache.apply(request(rolling=False), T0 + timedelta(minutes=161))
    assert expired.cache_read_input_tokens == 0 and expired.cache_creation_1h > 0


def test_a_five_minute_entry_expires_after_five_minutes_on_the_request_clock() -> None:
    cache = PromptCache()
    cache.apply(request(system_ttl="5m", rolling=False), T0)
    assert cache.apply(request(system_ttl="5m", rolling=False), T0 + timedelta(minutes=4)).cache_read_input_tokens > 0
    gone = cache.apply(request(system_ttl="5m", rolling=False), T0 + timedelta(minutes=10))
    assert gone.cache_read_input_tokens == 0 and gone.cache_creation_5m > 0


def test_the_rolling_breakpoint_lets_the_next_turn_read_the_conversation() -> None:
    cache = PromptCache()
    one = cache.apply(request(turns=1), T0)
    assert one.cache_creation_1h > 0 and one.cache_creation_5m > 0 and one.input_tokens == 0
    two = cache.apply(request(turns=2), T0 + timedelta(seconds=20))
    assert two.cache_read_input_tokens == one.cache_creation_input_tokens, "the whole first turn is read"
    assert two.cache_creation_5m > 0 and two.cache_creation_1h == 0
    assert two.input_tokens + two.cache_creation_input_tokens + two.cache_read_input_tokens == total(request(turns=2))


def test_below_the_models_minimum_nothing_is_cached() -> None:
    cache = PromptCache()
    for at in (T0, T0 + timedelta(minutes=1)):
        usage = cache.apply(request(model="claude-haiku-4-5", rolling=False), at)  # ~2,200 < 4,096
        assert usage.cache_read_input_tokens == usage.cache_creation_input_tokens == 0
        assert usage.input_tokens == total(request(model="claude-haiku-4-5", rolling=False))


def test_each_model_has_its_own_cache() -> None:
    cache = PromptCache()
    cache.apply(request(rolling=False), T0)
    other = cache.apply(request(model="claude-sonnet-4-5", rolling=False), T0 + timedelta(minutes=1))
    assert other.cache_read_input_tokens == 0 and other.cache_creation_1h > 0


def test_the_lookback_finds_an_entry_only_within_twenty_blocks() -> None:
    cache = PromptCache()
    cache.apply(request(turns=1), T0)  # writes the prefix ending at the first user block
    near = cache.apply(request(turns=1, extra=19), T0 + timedelta(seconds=5))
    assert near.cache_read_input_tokens == total(request(turns=1)), "the first turn's entry, found 19 blocks back"
    cache = PromptCache()
    cache.apply(request(turns=1), T0)
    far = cache.apply(request(turns=1, extra=25, system_ttl=None), T0 + timedelta(seconds=5))
    assert far.cache_read_input_tokens == 0, "25 blocks back is out of the rolling breakpoint's reach"


def test_more_than_four_breakpoints_or_a_1h_after_a_5m_are_refused() -> None:
    req = request(extra=4)
    for block in req["messages"][-1]["content"]:
        block["cache_control"] = {"type": "ephemeral"}
    with pytest.raises(CacheRequestError, match="maximum of 4"):
        PromptCache().apply(req, T0)
    backwards = request(system_ttl="5m")
    backwards["messages"][-1]["content"][-1]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    with pytest.raises(CacheRequestError, match="1h"):
        PromptCache().apply(backwards, T0)


def test_the_real_sdk_sees_the_usage_fields_and_a_400_for_too_many_breakpoints() -> None:
    now = [T0]
    server = MessagesServer(clock=lambda: now[0]).start()
    try:
        client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=0)
        server.script(tool_use(("get_portfolio", {})), tool_use(("get_portfolio", {})))
        req = request()
        first = client.messages.create(max_tokens=100, **req)
        now[0] = T0 + timedelta(minutes=30)
        second = client.messages.create(max_tokens=100, **request(rolling=False))
        assert first.usage.cache_creation is not None and first.usage.cache_creation.ephemeral_1h_input_tokens > 0
        assert second.usage.cache_read_input_tokens == first.usage.cache_creation.ephemeral_1h_input_tokens
        bad = request(extra=4)
        for block in bad["messages"][-1]["content"]:
            block["cache_control"] = {"type": "ephemeral"}
        server.script(tool_use(("get_portfolio", {})))
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(max_tokens=100, **bad)
    finally:
        server.stop()
