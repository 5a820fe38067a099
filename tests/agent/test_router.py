"""529 and 429 storms through the real SDK open the breaker; rules take over; a probe closes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent.anthropic_backend import AnthropicBackend
from agent.breaker import BreakerState, FailureKind, LLMBreaker
from agent.records import build_record
from agent.router import ResilientBackend
from agent.rules import RulesBackend
from benchmarks.llmsim import MessagesServer, fail, tool_use
from core.clock import SimClock
from core.settings import LLMSettings, RiskSettings
from core.types import Alert, DecisionRecord, DecisionRequest, LLMHealth, WakeKind, WakeReason
from tests.agent.conftest import llm_settings
from tests.engine_desk import RecordingDesk
from tests.tools.helpers import make_request
from tools.context import DecisionSession, ListJournal

SCHEDULE = ("schedule_next_check", {"seconds": 600, "wake_conditions": []})


def router(server: MessagesServer, desk: RecordingDesk, journal: ListJournal, clock: SimClock,
           primary: bool = True) -> ResilientBackend:
    llm = llm_settings(server)
    anthropic = AnthropicBackend(llm=llm, risk=RiskSettings(), desk=desk, journal=journal) if primary else None
    return ResilientBackend(
        primary=anthropic,
        rules=RulesBackend(llm=llm, risk=RiskSettings(), desk=desk, journal=journal),
        breaker=LLMBreaker(llm.breaker_failures, llm.breaker_probe_after_s),
        clock=clock,
        journal=journal,
    )


async def test_529_and_429_storm_opens_the_breaker_and_rules_take_over(
    server: MessagesServer, desk: RecordingDesk, journal: ListJournal
) -> None:
    clock = SimClock(datetime(2024, 3, 1, tzinfo=UTC))
    backend = router(server, desk, journal, clock)
    server.script(fail(529), fail(429, retry_after=0), fail(529))
    records = [await backend.decide(make_request()) for _ in range(3)]
    assert [r.backend for r in records] == ["rules"] * 3
    assert [r.fallback_reason for r in records] == ["llm_failure: overloaded", "llm_failure: rate_limit",
                                                    "llm_failure: overloaded"]
    assert backend.breaker.state is BreakerState.OPEN
    [alert] = backend.drain_alerts()
    assert alert.kind == "llm_breaker" and alert.severity == "warning"
    assert ("llm_breaker", ) == tuple(k for k in journal.kinds() if k == "llm_breaker")
    # while open, no request reaches the model at all
    sent = len(server.message_requests())
    record = await backend.decide(make_request())
    assert record.fallback_reason == "llm_breaker_open" and len(server.message_requests()) == sent
    # after the cool-down a probe goes out and, succeeding, closes the breaker
    clock.advance_by(LLMSettings().breaker_probe_after_s)
    server.script(tool_use(SCHEDULE))
    probe = await backend.decide(make_request())
    assert probe.backend == "anthropic" and backend.breaker.state is BreakerState.CLOSED
    assert [a.message.split(":")[0] for a in backend.drain_alerts()] == [
        "LLM breaker open -> half_open", "LLM breaker half_open -> closed"]
    probe_message = server.message_requests()[-1]["messages"][0]["content"][0]["text"]
    assert "LLM breaker half_open" in probe_message and "probe" in probe_message
    assert "half_open" not in server.message_requests()[-1]["system"][0]["text"], "volatile state: not in the prefix"


async def test_no_key_and_spent_budget_use_rules(server: MessagesServer, desk: RecordingDesk,
                                                 journal: ListJournal) -> None:
    clock = SimClock(datetime(2024, 3, 1, tzinfo=UTC))
    no_key = await router(server, desk, journal, clock, primary=False).decide(make_request())
    assert no_key.fallback_reason == "no_llm_configured"
    request = make_request()
    wake = WakeReason(kind=WakeKind.TIMER, detail="t", at=request.as_of, fallback=True,
                      fallback_reason="llm_budget_usd_day")
    spent = await router(server, desk, journal, clock).decide(request.model_copy(update={"wake": wake}))
    assert spent.backend == "rules" and spent.fallback_reason == "llm_budget_usd_day"
    assert server.message_requests() == []


@dataclass
class RecordingPrimary:
    """An LLM backend stand-in that keeps the requests it was given (the router is the subject here)."""

    requests: list[DecisionRequest] = field(default_factory=list)
    name: str = "recording"

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        self.requests.append(request)
        return build_record(DecisionSession(request=request, memory_max_chars=0), backend=self.name,
                            prompt_version="test")

    def drain_alerts(self) -> list[Alert]:
        return []


async def test_the_breaker_state_travels_in_the_request(desk: RecordingDesk, journal: ListJournal) -> None:
    clock = SimClock(datetime(2024, 3, 1, tzinfo=UTC))
    breaker = LLMBreaker(failure_threshold=1, probe_after_s=60)
    breaker.record_failure(clock.now(), FailureKind.TIMEOUT)
    primary = RecordingPrimary()
    llm = LLMSettings()
    backend = ResilientBackend(primary=primary, rules=RulesBackend(llm=llm, risk=RiskSettings(), desk=desk,
                                                                   journal=journal),
                               breaker=breaker, clock=clock, journal=journal)
    clock.advance_by(60)
    request = make_request()
    await backend.decide(request)
    await backend.decide(request)
    probe, healthy = (r.llm for r in primary.requests)
    assert probe.state == "half_open" and probe.consecutive_failures == 1 and probe.last_failure == "timeout"
    assert "this call is a probe" in probe.describe()
    assert healthy == LLMHealth() and healthy.describe() == "LLM service healthy (breaker closed)."
    assert request.llm == LLMHealth(), "the caller's request is not changed"
