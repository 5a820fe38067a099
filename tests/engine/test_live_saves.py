"""Invariant 5 on the live path: state persisted after every order placement. Backtests batch their store's writes
(``store.batched``: one transaction per N steps); a live run must not. A paper run over recorded real candles, as
``tradewake run`` builds it over the local venue, with an agent that places an order and then, before the engine does anything else,
reads the store's file through a second, independent SQLite connection: the order's safety state and its journal
event are already there."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from agent.records import build_record
from agent.signals import last_price
from core.ports import Clock
from core.types import Alert, DecisionRecord, DecisionRequest
from engine.wiring import AgentChoice
from safety.book import ENTRY_PREFIX, POSITION_PREFIX
from store.batched import BatchedSqliteStore
from store.sqlite_store import SqliteStore
from tests.live.harness import live_settings, play, running_bot, until, venue_config
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from tools.registry import ToolName
from venue import Venue


@dataclass(frozen=True)
class Seen:
    """What another connection read from the file right after one order placement."""

    ok: bool
    answer: str
    safety_keys: tuple[str, ...]
    journal_kinds: tuple[str, ...]


@dataclass
class OrderThenLook:
    """Places one market entry per wake (while flat) and looks at the store's file at once."""

    desk: TradingDesk
    journal: JournalSink
    path: Path
    seen: list[Seen] = field(default_factory=list)
    name: str = "order-then-look"

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        session = DecisionSession(request=request, memory_max_chars=200)
        tools = ToolExecutor(self.desk, self.journal, session)
        price = last_price(request.snapshot)
        if price is not None and not self.seen:
            args = {"side": "long", "size_pct": 10.0, "order_type": "market", "stop_loss_price": round(price * 0.97, 2),
                    "signals": ["momentum"], "confidence": 0.5, "thesis": "pin invariant 5"}  # fmt: skip
            outcome = await tools.call(ToolName.PLACE_ORDER, args, f"{request.as_of.isoformat()}-e")
            self.seen.append(self._look(not outcome.is_error, outcome.content))
        return build_record(session, backend=self.name, prompt_version="test-v1", reasoning="test")

    def drain_alerts(self) -> list[Alert]:
        return []

    def _look(self, ok: bool, answer: str) -> Seen:
        other = sqlite3.connect(self.path)
        try:
            keys = [r[0] for r in other.execute("SELECT key FROM docs WHERE key LIKE 'safety/%' ORDER BY key")]
            kinds = [r[0] for r in other.execute("SELECT kind FROM journal ORDER BY seq")]
        finally:
            other.close()
        return Seen(ok, answer, tuple(keys), tuple(kinds))


async def test_a_live_run_saves_the_order_before_it_does_anything_else(tmp_path: Path) -> None:
    agents: list[OrderThenLook] = []

    def factory(desk: TradingDesk, journal: JournalSink, _: Clock) -> OrderThenLook:
        agents.append(OrderThenLook(desk, journal, tmp_path / "bot.sqlite3"))
        return agents[-1]

    async with Venue(venue_config(tmp_path)) as venue:
        settings = live_settings(venue, tmp_path, mode="paper", every_candle=True)  # every candle close wakes it
        async with running_bot(settings, agent=AgentChoice(factory=factory)) as bot:
            assert type(bot.run.store) is SqliteStore and not isinstance(bot.run.store, BatchedSqliteStore)
            await play(venue, 4)
            await until(lambda: bool(agents and agents[0].seen), what="the agent's order")
    seen = agents[0].seen[0]
    assert seen.ok, seen.answer
    held = [k for k in seen.safety_keys if k.startswith((POSITION_PREFIX, ENTRY_PREFIX))]
    assert held, f"the order's safety state is in the file at once; it holds {seen.safety_keys}"
    assert any(k.startswith(("order", "position", "safety.entry")) for k in seen.journal_kinds), seen.journal_kinds
