"""The backend the engine calls: an LLM backend guarded by the breaker, with rules as the fallback.

Rules decide when there is no LLM (no key configured), when the gate says the LLM budget is spent
(``wake.fallback``), while the breaker is open, and for a decision whose LLM call failed before it
did anything. A failed decision that already acted (an order went out, then a 529) is returned as
is, with its error: running rules on top could act twice on one wake.

Breaker transitions are journaled here and queued as alerts; the engine sends them
(:meth:`ResilientBackend.drain_alerts`, part of the ``AgentBackend`` port), so this module does no I/O of
its own. The breaker's state reaches the LLM backend inside the request (``DecisionRequest.llm``).
"""

from __future__ import annotations

from agent.breaker import LLMBreaker, Transition
from agent.closing import aclose_backend
from agent.errors import LLMUnavailable
from agent.rules import RulesBackend
from core.ports import AgentBackend, Clock
from core.types import Alert, DecisionRecord, DecisionRequest
from tools.context import JournalSink
from tools.registry import side_effects


class ResilientBackend:
    name = "resilient"

    def __init__(
        self,
        *,
        primary: AgentBackend | None,
        rules: RulesBackend,
        breaker: LLMBreaker,
        clock: Clock,
        journal: JournalSink,
        no_primary_reason: str = "no_llm_configured",
    ) -> None:
        self.primary = primary
        self.rules = rules
        self.breaker = breaker
        self.clock = clock
        self.journal = journal
        self.no_primary_reason = no_primary_reason
        self._alerts: list[Alert] = []

    async def aclose(self) -> None:
        """Close the LLM backend's connections (the rules backend holds none)."""
        await aclose_backend(self.primary)

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        if self.primary is None:
            return await self.rules.decide_as_fallback(request, self.no_primary_reason)
        if request.wake.fallback:
            return await self.rules.decide_as_fallback(request, request.wake.fallback_reason or "llm_budget_spent")
        allowed, transitions = self.breaker.allow(self.clock.now())
        self._emit(transitions)
        if not allowed:
            return await self.rules.decide_as_fallback(request, f"llm_breaker_{self.breaker.state.value}")
        return await self._call_primary(self.primary, request)

    async def _call_primary(self, primary: AgentBackend, request: DecisionRequest) -> DecisionRecord:
        try:
            record = await primary.decide(request.model_copy(update={"llm": self.breaker.health()}))
        except LLMUnavailable as exc:
            self._emit(self.breaker.record_failure(self.clock.now(), exc.kind, str(exc)))
            partial = exc.partial
            if partial is not None and _acted(partial):
                return partial
            return await self.rules.decide_as_fallback(request, f"llm_failure: {exc.kind.value}")
        except BaseException:
            self._emit(self.breaker.abandon_probe(self.clock.now()))
            raise
        self._emit(self.breaker.record_success(self.clock.now()))
        return record

    def drain_alerts(self) -> list[Alert]:
        """Alerts raised since the last drain (breaker transitions, and the primary's own), for the engine."""
        alerts, self._alerts = self._alerts, []
        return alerts + (self.primary.drain_alerts() if self.primary is not None else [])

    def _emit(self, transitions: list[Transition]) -> None:
        for transition in transitions:
            self.journal.append("llm_breaker", transition.journal_payload())
            self._alerts.append(transition.alert())


def _acted(record: DecisionRecord) -> bool:
    return side_effects(record.tool_calls) > 0
