"""The engine hands every decision its whole book, reads its last decisions back after a restart, and counts
cache reads and writes in the LLM budget."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from core.types import Alert, DecisionRecord, DecisionRequest, Usage
from tests.engine.helpers import ScriptedAgent, build_world, entry


@dataclass
class Watching:
    """The scripted agent, keeping each request and reporting a fixed usage."""

    inner: ScriptedAgent
    usage: Usage = field(default_factory=Usage)
    requests: list[DecisionRequest] = field(default_factory=list)
    name: str = "watching"

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        self.requests.append(request)
        record = await self.inner.decide(request)
        return record.model_copy(update={"usage": self.usage, "backend": "anthropic"})

    def drain_alerts(self) -> list[Alert]:
        return []


def test_every_request_carries_the_book_and_a_restart_keeps_the_last_decisions(tmp_path: Path) -> None:
    world = build_world(tmp_path / "b.sqlite3", {})
    assert world.agent is not None
    world.agent.script[30] = [entry(stop=round(world.candles[30].close * 0.97, 2))]
    watching = Watching(world.agent)
    world.engine.agent = watching
    asyncio.run(world.run(28, 34))
    first, *_, last = watching.requests
    assert first.book is not None and first.book.portfolio.positions == () and first.book.recent_decisions == ()
    assert last.book is not None and len(last.book.portfolio.positions) == 1
    assert last.book.portfolio.positions[0].stop_live and last.book.learner is not None
    assert any("place_order long 10.0% stop" in d.outcome for d in last.book.recent_decisions)
    assert len(last.book.recent_decisions) == 5, "the last five, oldest first"
    before = [d.at for d in last.book.recent_decisions]
    world.store.close()

    again = build_world(tmp_path / "b.sqlite3", {}, parts=world.parts)
    assert again.agent is not None
    watching_again = Watching(again.agent)
    again.engine.agent = watching_again
    asyncio.run(again.run(34, 35))
    [after_restart] = watching_again.requests
    assert after_restart.book is not None
    assert [d.at for d in after_restart.book.recent_decisions] == [*before[1:], watching.requests[-1].as_of]
    again.store.close()


def test_the_llm_budget_counts_cache_reads_and_writes(tmp_path: Path) -> None:
    world = build_world(tmp_path / "u.sqlite3", {})
    assert world.agent is not None
    usage = Usage(input_tokens=10, output_tokens=20, cache_creation_input_tokens=300, cache_read_input_tokens=4000,
                  cost_usd=0.01)
    world.engine.agent = Watching(world.agent, usage=usage)
    [report] = asyncio.run(world.run(30, 31))
    assert report.decision is not None
    status = world.engine.gate.budget_status(report.at)
    assert status.tokens_last_hour == 4330 == usage.total_tokens and status.usd_last_hour == 0.01
    world.store.close()
