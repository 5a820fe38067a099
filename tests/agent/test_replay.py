"""Cassettes: a recorded run replays byte for byte with no model; misses and divergence are explicit."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.anthropic_backend import AnthropicBackend
from agent.prompting import system_prompt
from agent.replay import CassetteMiss, RecordingBackend, ReplayBackend, ReplayDivergence, cassette_key, cassette_line
from agent.rules import RulesBackend
from benchmarks.llmsim import MessagesServer, tool_use
from core.canonical import canonical_json
from core.settings import LLMSettings, RiskSettings
from core.types import DecisionRecord, DecisionRequest
from tests.agent.conftest import MakeDesk, llm_settings
from tests.tools.helpers import make_request
from tools.context import ListJournal

ORDER = {"side": "long", "size_pct": 50, "order_type": "market", "stop_loss_price": 49_000,
         "signals": ["breakout"], "confidence": 0.5, "thesis": "range break"}
VERSION = system_prompt(RiskSettings(), 2000).version


def requests() -> list[DecisionRequest]:
    first = make_request()
    later = first.model_copy(update={"as_of": first.as_of.replace(hour=16), "snapshot_digest": "e" * 64})
    return [first, later]


async def record_run(server: MessagesServer, cassette: Path, make_desk: MakeDesk) -> list[str]:
    server.script(
        tool_use(("place_order", {**ORDER, "stop_loss_price": 49_990})),  # vetoed
        tool_use(("place_order", ORDER), ("update_memory", {"text": "long from 50k"})),  # capped to 20 %
        tool_use(("schedule_next_check", {"seconds": 900, "wake_conditions": [{"kind": "move_pct", "pct": 2}]})),
        tool_use(("close_position", {"fraction": 0.5, "reason": "half off"}),
                 ("schedule_next_check", {"seconds": 600, "wake_conditions": []})),
    )
    desk = await make_desk("recorded")
    inner = AnthropicBackend(llm=llm_settings(server), risk=RiskSettings(), desk=desk, journal=ListJournal())
    backend = RecordingBackend(inner, cassette, VERSION)
    return [canonical_json((await backend.decide(r)).model_dump(mode="json")) for r in requests()]


async def test_replay_reproduces_the_recorded_decisions_byte_for_byte(server: MessagesServer, tmp_path: Path, make_desk: MakeDesk) -> None:
    cassette = tmp_path / "run.jsonl"
    recorded = await record_run(server, cassette, make_desk)
    sent = len(server.message_requests())
    desk = await make_desk("replayed")
    replay = ReplayBackend(cassette=cassette, llm=LLMSettings(), desk=desk, journal=ListJournal(),
                           prompt_version=VERSION)
    again = RecordingBackend(replay, tmp_path / "again.jsonl", VERSION)
    replayed = [canonical_json((await again.decide(r)).model_dump(mode="json")) for r in requests()]
    assert replayed == recorded
    assert (tmp_path / "again.jsonl").read_bytes() == cassette.read_bytes()
    assert len(server.message_requests()) == sent  # no model involved
    assert [e.status for e in desk.executed] == ["filled", "done"]  # the replay placed the same orders


async def test_a_miss_is_an_error_or_rules_per_setting(tmp_path: Path, make_desk: MakeDesk) -> None:
    cassette = tmp_path / "empty.jsonl"
    cassette.write_text("")
    strict = ReplayBackend(cassette=cassette, llm=LLMSettings(), desk=await make_desk("strict"),
                           journal=ListJournal(),
                           prompt_version=VERSION)
    with pytest.raises(CassetteMiss):
        await strict.decide(make_request())
    llm = LLMSettings(cassette_miss="rules")
    desk = await make_desk("lenient")
    lenient = ReplayBackend(cassette=cassette, llm=llm, desk=desk, journal=ListJournal(), prompt_version=VERSION,
                            rules=RulesBackend(llm=llm, risk=RiskSettings(), desk=desk, journal=ListJournal()))
    record = await lenient.decide(make_request())
    assert record.backend == "rules" and record.fallback_reason == "cassette_miss"


async def test_a_changed_prompt_version_misses(server: MessagesServer, tmp_path: Path, make_desk: MakeDesk) -> None:
    cassette = tmp_path / "run.jsonl"
    await record_run(server, cassette, make_desk)
    replay = ReplayBackend(cassette=cassette, llm=LLMSettings(), desk=await make_desk("other"),
                           journal=ListJournal(), prompt_version="system_v2-000000000000")
    with pytest.raises(CassetteMiss):
        await replay.decide(requests()[0])


async def test_divergence_is_refused(server: MessagesServer, tmp_path: Path, make_desk: MakeDesk) -> None:
    cassette = tmp_path / "run.jsonl"
    await record_run(server, cassette, make_desk)
    richer = await make_desk("richer", equity=20_000.0)
    replay = ReplayBackend(cassette=cassette, llm=LLMSettings(), desk=richer, journal=ListJournal(),
                           prompt_version=VERSION)
    with pytest.raises(ReplayDivergence, match="tool call 1 \\(place_order\\)"):
        await replay.decide(requests()[0])


def test_cassette_lines_are_canonical() -> None:
    request = make_request()
    key = cassette_key(request, VERSION)
    assert key == cassette_key(request, VERSION) and key != cassette_key(request, "other")
    record = DecisionRecord(wake=request.wake, symbol=request.symbol, as_of=request.as_of, snapshot_digest="x",
                            prompt_version=VERSION, backend="rules")
    assert cassette_line(key, record).startswith('{"key":"')
