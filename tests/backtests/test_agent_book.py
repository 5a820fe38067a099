"""The agent decides with its whole book in view: real backtests through the engine.

1. The anthropic backend (the real SDK against the local Messages server) opens a long on its first
   decision; every later decision's first message shows that position: side, entry, stop, P&L, exactly as
   the safety book holds it.
2. The rules backend trades a month; at every decision the rendered first message is compared with the safety
   book at that instant: never ``POSITIONS: none`` while a position is open, always each open position.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.prompting import user_message
from agent.rules import RulesBackend
from backtests.data import select_data
from backtests.runner import BacktestRequest, run_backtest
from benchmarks.llmsim import MessagesServer, Reply, tool_use
from core.ports import Clock
from core.settings import load_settings
from core.types import Alert, DecisionRecord, DecisionRequest, Position
from engine.desk import EngineDesk
from engine.wiring import AgentChoice
from store.sqlite_store import SqliteStore
from tests.agent.conftest import llm_settings
from tools.context import JournalSink, TradingDesk

SCHEDULE = ("schedule_next_check", {"seconds": 14_400, "wake_conditions": []})


def first_message_text(body: dict[str, Any]) -> str:
    content = body["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


@dataclass
class OpenThenHold:
    """A scripted model: a long with a 6 % stop and a take-profit on its first decision, then only schedules."""

    entered: bool = False
    openings: list[str] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> Reply:
        if len(body["messages"]) > 1:  # a tool result came back: finish the decision
            return tool_use(SCHEDULE)
        text = first_message_text(body)
        self.openings.append(text)
        if self.entered:
            return tool_use(SCHEDULE, text="Holding; the guard has the stop.")
        self.entered = True
        price = float(re.search(r"last price ([0-9.]+):", text).group(1))  # type: ignore[union-attr]
        order = {"side": "long", "size_pct": 10, "order_type": "market", "stop_loss_price": round(price * 0.94, 2),
                 "take_profit_price": round(price * 1.2, 2), "signals": ["trend_follow"], "confidence": 0.6,
                 "thesis": "scripted long to test the book"}
        return tool_use(("place_order", order))


def test_after_an_entry_every_later_prompt_shows_the_position_as_safety_holds_it(tmp_path: Path) -> None:
    model = OpenThenHold()
    server = MessagesServer(responder=model).start()
    try:
        base = load_settings(None)
        settings = base.model_copy(update={"llm": llm_settings(server)})
        data = select_data(start=datetime(2025, 2, 1, tzinfo=UTC), end=datetime(2025, 2, 4, tzinfo=UTC))
        result = asyncio.run(run_backtest(BacktestRequest(settings, data, tmp_path / "run")))
    finally:
        server.stop()
    assert result.agent.llm_calls >= 4 and model.entered
    store = SqliteStore(result.run.store_path)
    try:
        journal = store.read_journal()
    finally:
        store.close()
    [opened] = [e for e in journal if e.kind == "position.opened"]
    [closed] = [e for e in journal if e.kind == "position.closed"]  # the 6 % stop, in the drop of 2 to 3 February
    position = Position.model_validate(opened.payload["position"])
    assert "POSITIONS: none (flat)" in model.openings[0]
    holding = [t for t in model.openings[1:] if decision_time(t) < closed.at]
    flat_again = [t for t in model.openings[1:] if decision_time(t) >= closed.at]
    assert len(holding) >= 6 and flat_again
    for text in holding:
        assert "POSITIONS (1):" in text and "POSITIONS: none" not in text
        assert f"{position.id} BTC/USDT long {position.quantity} @ entry {position.entry_price}" in text
        assert f"stop {position.stop_price} (live on the exchange" in text
        assert re.search(r"unrealized P&L [+-][0-9]+\.[0-9]{2} = [+-][0-9.]+R", text), text
        assert "take-profit" in text and "then the stop moves to break-even" in text
        assert f"entry buy {position.quantity} @ {position.entry_price}" in text, "the entry is among the last fills"
    for text in holding[:4]:
        assert "place_order long 10% stop" in text, "the agent's own last decisions (five), one line each"
    for text in flat_again:
        assert "POSITIONS: none (flat)" in text and "stop_loss sell" in text, "flat, and the stop's fill is shown"


def decision_time(text: str) -> datetime:
    found = re.search(r"Decision time: (\S+)\.\n", text)
    assert found is not None
    return datetime.fromisoformat(found.group(1))


@dataclass
class BookWatcher:
    """The rules backend, with each decision's first message rendered and compared with the safety book."""

    inner: RulesBackend
    desk: EngineDesk
    checked: list[tuple[str, tuple[Position, ...]]] = field(default_factory=list)
    name: str = "rules"

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        self.checked.append((user_message(request, ""), self.desk.safety.positions()))
        return await self.inner.decide(request)

    def drain_alerts(self) -> list[Alert]:
        return []


def test_the_prompt_never_says_flat_while_the_safety_book_holds_a_position(tmp_path: Path) -> None:
    settings = load_settings(None)
    watchers: list[BookWatcher] = []

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> BookWatcher:
        assert isinstance(desk, EngineDesk)
        rules = RulesBackend(llm=settings.llm, risk=settings.risk, desk=desk, journal=journal,
                             seed=settings.learner.seed)
        watchers.append(BookWatcher(rules, desk))
        return watchers[0]

    data = select_data(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 2, 1, tzinfo=UTC))
    result = asyncio.run(run_backtest(BacktestRequest(settings, data, tmp_path / "run", AgentChoice(factory=factory))))
    checked = watchers[0].checked
    holding = [(text, held) for text, held in checked if held]
    assert result.performance.trades > 0 and holding, "the rules agent opened positions in January 2025"
    for text, held in checked:
        if held:
            assert "POSITIONS: none" not in text
            assert f"POSITIONS ({len(held)}):" in text
            for position in held:
                assert f"{position.id} {position.symbol} {position.side.value}" in text
                assert f"@ entry {position.entry_price}" in text and f"stop {position.stop_price} " in text
        else:
            assert "POSITIONS: none (flat)" in text
    assert any("guard next:" in text for text, _ in holding)
    assert all(Decimal(0) < p.quantity for _, held in holding for p in held)
